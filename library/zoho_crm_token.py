#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
---
module: zoho_crm_token
short_description: Obtain, refresh and revoke Zoho CRM OAuth tokens on the target host
description:
  - Exchanges a Zoho grant code for tokens and stores them in the token file that the agent's tools
    share, refreshes the access token, or revokes the refresh token and removes the file.
  - Idempotent. A stored refresh token for the same client and scopes is kept without contacting
    Zoho, because every new authorization burns one of Zoho's 20 refresh-token slots per user and
    client. Re-running with the code that produced the stored tokens is C(ok), because the file keeps a hash
    of that code.
  - Reads the client ID, secret and accounts server from the client-secret file (the manual guide's
    C(zoho-crm-client-secret.json)); token requests go to its C(token_uri), or to the
    C(accounts-server) of a pasted redirect URL when that is Zoho's or on the same origin.
  - Never returns or prints a secret. Diffs show fingerprints, expiry, scopes and API domain only.
version_added: "1.0.0"
author:
  - zoho_crm provisioning authors (!UNKNOWN)
options:
  state:
    description:
      - C(present) makes sure tokens exist, exchanging O(code) when there are none.
      - C(refreshed) mints a new access token when the stored one expires within O(min_ttl) seconds.
      - C(revoked) revokes the refresh token at Zoho and removes the token file.
    type: str
    choices: [present, refreshed, revoked]
    default: present
  token_path:
    description: Path of the token file, for example C(/home/node/.openclaw/credentials/zoho-crm-tokens.json).
    type: path
    required: true
  client_secret_path:
    description:
      - Path of the client-secret JSON file with C(client_id), C(client_secret), C(redirect_uri),
        C(auth_uri) and C(token_uri).
    type: path
    required: true
  code:
    description:
      - The grant code, as a bare code (Self Client or copied from the browser's address bar) or
        as the whole redirect URL, whose C(accounts-server) then selects the data center.
      - Used by O(state=present) when there are no tokens, or when O(reauthorize=true).
    type: str
  reauthorize:
    description:
      - With O(code), replace existing tokens by those of the new code. The new access token must
        first read the CRM; then the file is replaced and the old refresh token revoked, so it does
        not keep occupying one of Zoho's 20 slots.
      - Re-running with the same code is C(ok).
    type: bool
    default: false
  scopes:
    description:
      - Scopes the tokens must carry. Defaults to the C(scopes) of the client-secret file, else the
        three READ scopes for deals, contacts and notes.
      - Stored tokens that lack one of them need a new authorization.
    type: list
    elements: str
  data_center:
    description:
      - Exchange the code at this data center's accounts server instead of the client-secret file's.
      - Only needed for a bare code from an account in another data center.
    type: str
    choices: [us, eu, in, au, jp, ca, sa, cn, uk]
  min_ttl:
    description: With O(state=refreshed), refresh when the access token expires within this many seconds.
    type: int
    default: 300
  force:
    description: With O(state=refreshed), refresh even when the access token is still fresh.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for Zoho's accounts server.
    type: int
    default: 30
  validate_certs:
    description: Verify the accounts server's TLS certificate. Only turn off for a local test server.
    type: bool
    default: true
  mode:
    description: Mode of the token file. The module enforces it on every run.
    type: raw
    default: "0600"
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Never calls Zoho (a grant code works only once); predicts the change instead.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows fingerprints, expiry, scopes and API domain, never a token.
notes:
  - Zoho allows 10 access-token mints per refresh token per 10 minutes. Refreshes take an exclusive
    lock on C(<token_path>.lock) and re-read the file first, so the module, cron and the agent never
    mint twice for one expiry.
seealso:
  - name: Zoho CRM token limits
    description: Grant codes, access and refresh tokens and their limits.
    link: https://www.zoho.com/crm/developer/docs/api/v8/token-validity.html
"""

EXAMPLES = r"""
- name: Exchange the operator's code once; later runs are ok
  zoho_crm_token:
    token_path: /home/node/.openclaw/credentials/zoho-crm-tokens.json
    client_secret_path: /home/node/.openclaw/credentials/zoho-crm-client-secret.json
    code: "{{ zoho_crm_auth_code | default(omit) }}"
    owner: node
    group: node
  no_log: true
  register: zoho_tokens

- name: Prove that a refresh works
  zoho_crm_token:
    state: refreshed
    force: true
    token_path: /home/node/.openclaw/credentials/zoho-crm-tokens.json
    client_secret_path: /home/node/.openclaw/credentials/zoho-crm-client-secret.json

- name: Replace the refresh token with one from a new code, then revoke the old one
  zoho_crm_token:
    token_path: /home/node/.openclaw/credentials/zoho-crm-tokens.json
    client_secret_path: /home/node/.openclaw/credentials/zoho-crm-client-secret.json
    code: "{{ zoho_crm_auth_code }}"
    reauthorize: true
  no_log: true

- name: Retire the agent's access
  zoho_crm_token:
    state: revoked
    token_path: /home/node/.openclaw/credentials/zoho-crm-tokens.json
    client_secret_path: /home/node/.openclaw/credentials/zoho-crm-client-secret.json
"""

RETURN = r"""
token_path:
  description: The token file.
  returned: always
  type: str
api_domain:
  description: The Zoho API host of the account's data center, from the token response.
  returned: when tokens exist
  type: str
  sample: https://www.zohoapis.com
data_center:
  description: The data center of the accounts server that issued the tokens (null for a non-Zoho server).
  returned: when tokens exist
  type: str
  sample: us
expires_at:
  description: When the stored access token expires (UTC, ISO 8601).
  returned: when tokens exist
  type: str
  sample: "2026-11-28T20:14:06Z"
scopes:
  description: The scopes the tokens carry.
  returned: when tokens exist
  type: list
  elements: str
exchanged:
  description: Whether a grant code was exchanged (or, in check mode, would be).
  returned: always
  type: bool
refreshed:
  description: Whether an access token was minted by a refresh (or, in check mode, would be).
  returned: always
  type: bool
revoked:
  description: Whether a refresh token was revoked at Zoho (or, in check mode, would be).
  returned: always
  type: bool
authorization_required:
  description: True when the host needs a grant code (no tokens, or tokens for another client or scopes).
  returned: always
  type: bool
authorization_url:
  description: The URL to open, approve, and take the code (or the whole redirect URL) from.
  returned: when authorization_required
  type: str
msg:
  description: Why the module failed, with the fix. Never holds a secret.
  returned: failure only
  type: str
error_code:
  description: The kind of failure, for example C(invalid_code), C(Access Denied), C(transport) or C(token_file).
  returned: failure only
  type: str
retry:
  description:
    - When the same task may work again. C(now) for a transient failure (network, Zoho busy), C(later) after
      Zoho's 10-minute minting throttle, C(never) until something is fixed.
  returned: failure only
  type: str
  sample: never
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.zoho_crm_oauth import (
    DATA_CENTERS,
    DEFAULT_MIN_TTL,
    DEFAULT_SCOPES,
    DEFAULT_TIMEOUT,
    AuthorizationResponse,
    ClientConfig,
    TokenFile,
    TokenFileError,
    Transport,
    ZohoError,
    accounts_server_of,
    authorization_state,
    authorization_url,
    code_digest,
    fingerprint,
    missing_scopes,
    parse_authorization_response,
    parse_scopes,
    redacted,
    refresh_token_file,
    revoke_refresh_token,
    store_exchanged_tokens,
    token_endpoint_for,
)


class AuthorizationRequired(Exception):
    """The host needs a grant code before anything else can happen."""


class ZohoTokenModule:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.token_file = TokenFile(self.params["token_path"])
        self.result = dict(changed=False, token_path=self.token_file.path, exchanged=False, refreshed=False,
                           revoked=False, authorization_required=False)
        self._client = None
        # One try per request, as before any retry policy: Ansible's retries/until is the operator's choice,
        # and a grant code must never be sent twice.
        self.transport = Transport(timeout=self.params["timeout"], validate_certs=self.params["validate_certs"])

    @property
    def client(self):
        # Loaded on first use: revoking needs no client, and must work after its file is gone.
        if self._client is None:
            self._client = ClientConfig.load(self.params["client_secret_path"])
            self._hide(self._client.client_secret)
        return self._client

    @property
    def scopes(self):
        return parse_scopes(self.params["scopes"] or self.client.scopes)

    def _client_file_pending(self):
        """Check mode on a fresh host: the play's task that writes the client-secret file only
        predicted it, so there is no client to read yet."""
        return self.module.check_mode and not os.path.exists(self.params["client_secret_path"])

    def _hide(self, *secrets):
        """Ansible masks these values wherever they could still surface."""
        self.module.no_log_values.update(secret for secret in secrets if secret)

    def _read(self):
        record = self.token_file.read()
        if record:
            self._hide(record.access_token, record.refresh_token)
        return record

    def _state(self):
        # The same on every run and in the init tool's URL, so a pasted redirect can be checked.
        return authorization_state(self.client, self.token_file.path)

    def _authorization(self):
        # A redirect must carry this host's state; in check mode on a fresh host there is no client
        # to derive it from yet, and nothing is exchanged anyway.
        expected_state = None if self._client_file_pending() else self._state()
        authorization = parse_authorization_response(self.params["code"], expected_state=expected_state)
        if self.params["data_center"] and not authorization.accounts_server:
            authorization = AuthorizationResponse(authorization.code, authorization.state, authorization.location,
                                                  DATA_CENTERS[self.params["data_center"]].accounts_url)
        return authorization

    def _mismatch(self, record):
        """Why stored tokens cannot serve what is asked, or None."""
        if record.client_id and record.client_id != self.client.client_id:
            return "they belong to another client ID"
        missing = missing_scopes(record, self.scopes)
        if missing:
            return "they lack the scopes %s" % ", ".join(missing)
        return None

    def _report(self, record):
        if record:
            view = redacted(record)
            self.result.update(api_domain=view["api_domain"], data_center=view["data_center"],
                               expires_at=view["expires_at"], scopes=view["scopes"])

    def _enforce_attributes(self, diff):
        if not self.token_file.exists():
            return
        file_args = self.module.load_file_common_arguments(self.params, path=self.token_file.path)
        self.result["changed"] = self.module.set_fs_attributes_if_different(
            file_args, self.result["changed"], diff=diff)

    def _require_authorization(self, reason):
        self.result["authorization_required"] = True
        if self._client_file_pending():
            reason += " (Check mode: the authorization URL is shown once the client-secret file exists.)"
        else:
            self.result["authorization_url"] = authorization_url(self.client, self._state(), self.scopes)
        raise AuthorizationRequired(reason)

    # ---- states -------------------------------------------------------------------------

    def present(self, before):
        authorization = self._authorization() if self.params["code"] else None
        if before is None:
            if authorization is None:
                self._require_authorization("No Zoho tokens at %s yet. Open authorization_url, approve, and re-run "
                                            "with the code (or the whole redirect URL)." % self.token_file.path)
            return self._exchange(None, authorization)
        new_code = authorization is not None and before.code_sha256 != code_digest(authorization.code)
        mismatch = self._mismatch(before)
        if new_code and (mismatch or self.params["reauthorize"]):
            return self._exchange(before, authorization)
        if mismatch:
            self._require_authorization("The stored Zoho tokens cannot be used: %s. Open authorization_url, approve, "
                                        "and re-run with the new code." % mismatch)
        if new_code:
            self.module.warn("A code was given but tokens already exist, so it was not used: a new authorization "
                             "burns one of Zoho's 20 refresh-token slots. Set reauthorize to replace them.")
        return before

    def _exchange(self, before, authorization):
        self._hide(authorization.code)
        self.result.update(changed=True, exchanged=True)
        if self._client_file_pending():
            return before
        token_endpoint_for(self.client, authorization)  # reject an untrusted server, in check mode too
        if self.module.check_mode:
            return before
        # Replacing tokens: the new ones must carry the scopes and read the CRM before the swap.
        exchange = store_exchanged_tokens(self.token_file, self.client, authorization, self.scopes, self.transport)
        after = exchange.record
        self._hide(after.access_token, after.refresh_token)
        self.result["revoked"] = bool(exchange.revoked)
        if exchange.revoke_error:
            self.module.warn("The replaced refresh token %s was not revoked: %s" % (
                fingerprint(exchange.replaced.refresh_token), exchange.revoke_error))
        mismatch = self._mismatch(after)
        if mismatch:
            self._require_authorization("The code was exchanged, but the new tokens cannot be used: %s. Generate a "
                                        "code for all the scopes (open authorization_url) and re-run with it." % mismatch)
        return after

    def refreshed(self, before):
        if not before:
            raise ZohoError("No Zoho tokens at %s to refresh. Fix: run with state=present and a code first."
                            % self.token_file.path)
        if not (self.params["force"] or before.needs_refresh(self.params["min_ttl"])):
            return before
        self.result.update(changed=True, refreshed=True)
        if self.module.check_mode:
            return before
        after, refreshed = refresh_token_file(self.token_file, self.client, self.transport,
                                              min_ttl=self.params["min_ttl"], force=self.params["force"])
        self._hide(after.access_token)
        # Another process may have refreshed between our read and the lock: that is fine, and no change of ours.
        self.result.update(changed=refreshed, refreshed=refreshed)
        return after

    def revoked(self, before):
        if before is None and not self.token_file.exists():
            return None
        revocable = bool(before and before.refresh_token)
        self.result.update(changed=True, revoked=revocable)
        if before is None:
            self.module.warn("The token file %s is damaged: it is removed, and nothing could be revoked at Zoho."
                             % self.token_file.path)
        elif not revocable:
            self.module.warn("The token file %s holds no refresh token: it is removed, and nothing was revoked at "
                             "Zoho." % self.token_file.path)
        if self.module.check_mode:
            return before
        with self.token_file.locked() as locked:
            current = self._read_for("revoked")
            if current and current.refresh_token:
                self.result["revoked"] = revoke_refresh_token(accounts_server_of(current, self._client_if_present()),
                                                              current.refresh_token, self.transport)
                if not self.result["revoked"]:
                    self.module.warn("Zoho no longer knew the refresh token (already revoked); the file was removed.")
            locked.remove()
        self.token_file.remove_lock()
        return None

    def _client_if_present(self):
        # Revoking must work after the client-secret file is gone: the token file names its server.
        return self.client if os.path.exists(self.params["client_secret_path"]) else None

    def _read_for(self, state):
        """The stored record; for revoking, a damaged file reads as None (nothing to revoke: remove it)."""
        try:
            return self._read()
        except TokenFileError:
            if state != "revoked" or not self.token_file.exists():
                raise
            return None

    def run(self):
        state = self.params["state"]
        before = self._read_for(state)
        try:
            after = getattr(self, state)(before)
        except AuthorizationRequired as exc:
            self._report(self._read())
            self.module.fail_json(msg=str(exc), **self.result)
        if self.module.check_mode and self.result["changed"]:
            after_view = {} if state == "revoked" else _predicted(before, state, self.params["scopes"])
        else:
            after_view = redacted(after)
        diff = dict(before=redacted(before), after=after_view)
        if state != "revoked":
            self._enforce_attributes(diff)
        self._report(after)
        if self.module._diff:
            self.result["diff"] = diff
        return self.result


def _predicted(before, state, scopes):
    """The redacted view check mode shows for the change it predicts (the client-secret file may
    not exist yet, so the scopes come from the arguments or the stored tokens)."""
    view = redacted(before) if before else {"scopes": list(parse_scopes(scopes or DEFAULT_SCOPES))}
    view.update(expires_at="(new)", access_token="(new)")
    if state == "present":
        view["refresh_token"] = "(new)"
    return view


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "refreshed", "revoked"]),
            token_path=dict(type="path", required=True),
            client_secret_path=dict(type="path", required=True),
            code=dict(type="str", no_log=True),
            reauthorize=dict(type="bool", default=False),
            scopes=dict(type="list", elements="str"),
            data_center=dict(type="str", choices=sorted(DATA_CENTERS)),
            min_ttl=dict(type="int", default=DEFAULT_MIN_TTL),
            force=dict(type="bool", default=False),
            timeout=dict(type="int", default=DEFAULT_TIMEOUT),
            validate_certs=dict(type="bool", default=True),
            mode=dict(type="raw", default="0600"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    try:
        result = ZohoTokenModule(module).run()
    except ZohoError as exc:
        module.fail_json(msg=str(exc), error_code=exc.code, retry=exc.retry, token_path=module.params["token_path"],
                         changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
