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
  - Or authorizes by Zoho's device flow (O(flow=device)), for a host without a browser, in two calls
    (two tasks). The first shows a user code that a person approves on any browser; the second waits
    for the approval and stores the tokens.
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
  flow:
    description:
      - How O(state=present) authorizes a host that has no usable tokens, when no O(code) is given
        (a code is always exchanged).
      - C(code) fails with RV(authorization_url), to open and approve; a later run brings the code.
      - C(device) uses Zoho's device flow. Without O(wait), it starts a flow, or finds the one still
        pending for this token file (so a re-run shows the same user code and spends none of Zoho's
        10 grant codes per 10 minutes), and returns RV(device_flow), the URL and the user code to
        approve. With O(wait), it polls Zoho for that flow's tokens, then stores them as after a code
        exchange. The pending flow is kept in C(zoho-crm-device-flow.json) next to the token file
        (0600), and removed once it is over.
      - Neither starts nor polls in check mode, and never while usable tokens exist.
    type: str
    choices: [code, device]
    default: code
  wait:
    description:
      - With O(flow=device), wait for the approval of the pending flow. Polls are at least 30 seconds
        apart whatever Zoho's C(interval) says (Zoho answers C(slow_down) to closer ones); an
        C(other_dc) answer moves them to the user's data center. Ends when the person approves
        (the tokens are stored), denies, the user code expires, or O(wait_timeout) passes (the flow
        then stays pending, and a re-run waits on).
    type: bool
    default: false
  wait_timeout:
    description: With O(wait), the most seconds to wait for the approval; never past the user code's expiry.
    type: int
    default: 300
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
  agent_token_path:
    description:
      - A separate refresher's agent copy. O(token_path) is then in the refresher's directory, which the
        agent cannot read, with the client secret; every record written there is also written here,
        holding only the access token, its expiry, C(api_domain) and scopes, 0600, owned by the owner of
        this path's directory. Every run brings it in line (reported changed when it was not).
    type: path
  move_from:
    description:
      - Before anything else, move the tokens (with their refresh token) from this token file to
        O(token_path), unchanged and without calling Zoho, when O(token_path) holds no refresh token (for
        switching a separate refresher on, from the agent's file, or off, from the refresher's).
      - An agent copy, or no file, there is nothing to move.
    type: path
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
    details: Never calls Zoho (a grant code works only once, and a device flow spends one); predicts the change instead.
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

- name: Start Zoho's device flow on a host without tokens (a re-run shows the same user code)
  zoho_crm_token:
    token_path: /home/node/.openclaw/credentials/zoho-crm-tokens.json
    client_secret_path: /home/node/.openclaw/credentials/zoho-crm-client-secret.json
    flow: device
  register: zoho_device

- name: Show what to approve
  ansible.builtin.debug:
    msg: "Open {{ zoho_device.device_flow.verification_url }} and enter {{ zoho_device.device_flow.user_code }}"
  when: zoho_device.device_flow is defined

- name: Wait for the approval, then store the tokens
  zoho_crm_token:
    token_path: /home/node/.openclaw/credentials/zoho-crm-tokens.json
    client_secret_path: /home/node/.openclaw/credentials/zoho-crm-client-secret.json
    flow: device
    wait: true
  when: zoho_device.device_flow is defined
  no_log: true

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
moved:
  description: Whether the tokens were moved from O(move_from) (or, in check mode, would be).
  returned: always
  type: bool
authorization_required:
  description: True when the host needs a grant code (no tokens, or tokens for another client or scopes).
  returned: always
  type: bool
authorization_url:
  description: The URL to open, approve, and take the code (or the whole redirect URL) from.
  returned: when authorization_required with O(flow=code)
  type: str
device_flow:
  description:
    - The pending device flow, for a person to approve. The device code, a secret, is never returned.
  returned: when O(flow=device) started or found a pending flow (in check mode, only one found)
  type: dict
  contains:
    user_code:
      description: The code the person enters at RV(device_flow.verification_url).
      type: str
      sample: BCDF-GHJK
    verification_url:
      description: Where the person enters the code and approves, on any browser.
      type: str
      sample: https://accounts.zoho.com/oauth/v3/device
    verification_uri_complete:
      description: The same page with the code filled in, when Zoho sends one (null otherwise).
      type: str
    expires_at:
      description: When the user code expires (UTC, ISO 8601).
      type: str
    expires_in:
      description: Seconds the user code is still valid.
      type: int
    accounts_server:
      description: The accounts server the flow is polled at.
      type: str
    scopes:
      description: The scopes the person is asked to approve.
      type: list
      elements: str
    polls:
      description: How many times the flow was polled so far.
      type: int
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
    DEVICE_CODE_LIFETIME,
    AuthorizationError,
    AuthorizationResponse,
    BadArgumentError,
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
    move_tokens,
    parse_authorization_response,
    parse_scopes,
    redacted,
    refresh_token_file,
    revoke_refresh_token,
    start_device_flow,
    store_exchanged_tokens,
    token_endpoint_for,
    wait_for_device_flow,
)


class AuthorizationRequired(Exception):
    """The host needs a grant code before anything else can happen."""


class ZohoTokenModule:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.token_file = TokenFile(self.params["token_path"], agent_path=self.params["agent_token_path"])
        self.result = dict(changed=False, token_path=self.token_file.path, exchanged=False, refreshed=False,
                           revoked=False, moved=False, authorization_required=False)
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
        device = self.params["flow"] == "device" and authorization is None
        if before is None:
            if device:
                return self._device_flow(None, "No Zoho tokens at %s yet." % self.token_file.path)
            if authorization is None:
                self._require_authorization("No Zoho tokens at %s yet. Open authorization_url, approve, and re-run "
                                            "with the code (or the whole redirect URL)." % self.token_file.path)
            return self._exchange(None, authorization)
        new_code = authorization is not None and before.code_sha256 != code_digest(authorization.code)
        mismatch = self._mismatch(before)
        if new_code and (mismatch or self.params["reauthorize"]):
            return self._exchange(before, authorization)
        if mismatch and device:
            return self._device_flow(before, "The stored Zoho tokens cannot be used: %s." % mismatch)
        if mismatch:
            self._require_authorization("The stored Zoho tokens cannot be used: %s. Open authorization_url, approve, "
                                        "and re-run with the new code." % mismatch)
        if new_code:
            self.module.warn("A code was given but tokens already exist, so it was not used: a new authorization "
                             "burns one of Zoho's 20 refresh-token slots. Set reauthorize to replace them.")
        self._remove_finished_device_flow()
        return before

    # ---- the device flow ------------------------------------------------------------------

    def _device_flow(self, before, reason):
        self.result["authorization_required"] = True
        if self.params["wait"]:
            return self._wait_for_approval(before)
        self._start_device_flow(reason)
        return before

    def _pending_device_flow(self):
        """The pending flow this run could use (its device code masked from here on), or None."""
        if self._client_file_pending():
            return None
        flow = self.token_file.read_device_flow(discard_damaged=True)
        if flow is None:
            return None
        self._hide(flow.device_code)
        return flow if flow.serves(self.client, self.scopes) else None

    def _start_device_flow(self, reason):
        if self.module.check_mode:
            # A real run would spend one of Zoho's grant codes: only a flow already pending is shown.
            flow = self._pending_device_flow()
            if flow is None:
                self.result.update(changed=True, msg=(
                    "%s Check mode: a real run starts Zoho's device flow here and shows the user code to approve."
                    % reason))
                return
            started = False
        else:
            flow, started = start_device_flow(self.token_file, self.client, self.scopes, self.transport)
            self._hide(flow.device_code)
        view = flow.redacted()
        self.result.update(changed=started, device_flow=view, msg=(
            "%s Open %s, enter the code %s and approve (valid %d more seconds, until %s); then run with wait=true "
            "to store the tokens." % (reason, view["verification_url"], view["user_code"], view["expires_in"],
                                      view["expires_at"])))

    def _wait_for_approval(self, before):
        self._pending_device_flow()  # masks its device code wherever it could still surface
        if self.module.check_mode:
            self.result.update(changed=True, exchanged=True)
            return before
        exchange = wait_for_device_flow(self.token_file, self.client, self.scopes, self.transport,
                                        timeout=self.params["wait_timeout"])
        after = exchange.record
        self._hide(after.access_token, after.refresh_token)
        changed = after != before
        self.result.update(changed=changed, exchanged=changed, authorization_required=False,
                           revoked=bool(exchange.revoked))
        if exchange.revoke_error:
            self.module.warn("The replaced refresh token %s was not revoked: %s" % (
                fingerprint(exchange.replaced.refresh_token), exchange.revoke_error))
        mismatch = self._mismatch(after)
        if mismatch:
            raise AuthorizationError("The device flow's tokens were stored but cannot be used: %s. Fix: run again "
                                     "and approve all the scopes (%s)." % (mismatch, ",".join(self.scopes)))
        return after

    def _remove_finished_device_flow(self):
        """Usable tokens are in place: a flow still pending (another way of authorizing won) is over."""
        if not os.path.exists(self.token_file.device_flow_path):
            return
        self.result["changed"] = True
        if not self.module.check_mode:
            with self.token_file.locked() as locked:
                locked.remove_device_flow()

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
            # A device flow that was started but never approved: nothing to revoke, only its file.
            if os.path.exists(self.token_file.device_flow_path):
                self.result["changed"] = True
                if not self.module.check_mode:
                    with self.token_file.locked() as locked:
                        locked.remove_device_flow()
                    self.token_file.remove_lock()
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
            locked.remove_device_flow()
        self.token_file.remove_lock()
        return None

    def _move(self):
        """Move the tokens from move_from (see move_tokens); in check mode, the record a real run would
        move, as the state's before."""
        source = TokenFile(self.params["move_from"])
        current = self._read_for("present") if self.token_file.exists() else None
        if current is not None and current.refresh_token:
            return None
        record = source.read() if source.exists() else None
        if record is None or not record.refresh_token:
            return None
        self._hide(record.access_token, record.refresh_token)
        if not self.module.check_mode:
            record = move_tokens(source, self.token_file)
        if record is not None:
            self.result.update(changed=True, moved=True)
        return record

    def _publish(self, record):
        """Bring the agent's copy in line with the stored record (a separate refresher only)."""
        if record is None or self.token_file.agent_copy_current(record):
            return
        self.result["changed"] = True
        if not self.module.check_mode:
            with self.token_file.locked() as locked:
                locked.publish(self._read() or record)

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
        if self.params["wait"] and self.params["flow"] != "device":
            raise BadArgumentError("wait applies to flow=device only. Fix: set flow=device, or drop wait.")
        if self.params["wait_timeout"] < 1:
            raise BadArgumentError("wait_timeout is %d. Fix: give the seconds to wait for the approval (300: as long as "
                                   "the user code lives)." % self.params["wait_timeout"])
        before = self._move() if self.params["move_from"] else None
        before = self._read_for(state) or before
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
            self._publish(after)
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
            flow=dict(type="str", default="code", choices=["code", "device"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=DEVICE_CODE_LIFETIME),
            reauthorize=dict(type="bool", default=False),
            scopes=dict(type="list", elements="str"),
            data_center=dict(type="str", choices=sorted(DATA_CENTERS)),
            min_ttl=dict(type="int", default=DEFAULT_MIN_TTL),
            force=dict(type="bool", default=False),
            timeout=dict(type="int", default=DEFAULT_TIMEOUT),
            validate_certs=dict(type="bool", default=True),
            mode=dict(type="raw", default="0600"),
            agent_token_path=dict(type="path"),
            move_from=dict(type="path"),
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
