"""The error taxonomy: every error class says what a caller does about it (the tools' exit status
and when to retry), and every failure of a tool becomes one line on stderr and, with --json, the
error object on stdout."""

import json

import pytest

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools

# Every class of the taxonomy: (exit status, retry). A new class must be added here, with its meaning.
TAXONOMY = {
    oauth.ZohoError: (oauth.EXIT_FAILED, oauth.RETRY_NEVER),
    oauth.BadArgumentError: (oauth.EXIT_BAD_ARGUMENTS, oauth.RETRY_NEVER),
    oauth.ConfigError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    oauth.CertificateError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    oauth.TokenFileError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    # The agent's copy of a separate refresher's token is near its end with no fresh one: the refresher's
    # next run (10 minutes) brings one, or its operator must look; the agent cannot mint.
    oauth.RefresherStaleError: (oauth.EXIT_RETRY_LATER, oauth.RETRY_LATER),
    oauth.AuthorizationError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    # The device flow's ends: denied, expired, not approved in time (the flow stays pending), or gone.
    oauth.DeviceFlowError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.DeviceFlowDeniedError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.DeviceFlowExpiredError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.DeviceFlowTimeoutError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.TransportError: (oauth.EXIT_RETRY_LATER, oauth.RETRY_NOW),
    oauth.OAuthError: (oauth.EXIT_FAILED, oauth.RETRY_NEVER),
    oauth.InvalidCodeError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.InvalidClientError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    oauth.InvalidClientSecretError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    oauth.InvalidRedirectUriError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    oauth.InvalidScopeError: (oauth.EXIT_CONFIG, oauth.RETRY_NEVER),
    # 10 grant codes per client in 10 minutes: a device flow can start again once the window moved on.
    oauth.GrantCodeLimitError: (oauth.EXIT_RETRY_LATER, oauth.RETRY_LATER),
    oauth.TokenThrottledError: (oauth.EXIT_RETRY_LATER, oauth.RETRY_LATER),
    oauth.ApiError: (oauth.EXIT_FAILED, oauth.RETRY_NEVER),
    oauth.RecordNotFoundError: (oauth.EXIT_FAILED, oauth.RETRY_NEVER),
    oauth.InvalidTokenError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.ScopeMismatchError: (oauth.EXIT_REAUTHORIZE, oauth.RETRY_NEVER),
    oauth.PermissionDeniedError: (oauth.EXIT_FAILED, oauth.RETRY_NEVER),
    oauth.RateLimitError: (oauth.EXIT_RETRY_LATER, oauth.RETRY_NOW),
    oauth.ServerError: (oauth.EXIT_RETRY_LATER, oauth.RETRY_NOW),
}


def every_error_class(root=oauth.ZohoError):
    found = [root]
    for subclass in root.__subclasses__():
        found += every_error_class(subclass)
    return found


def test_the_table_names_every_class_of_the_taxonomy():
    assert sorted(cls.__name__ for cls in every_error_class()) == sorted(cls.__name__ for cls in TAXONOMY)


@pytest.mark.parametrize("error_class", list(TAXONOMY), ids=lambda cls: cls.__name__)
def test_each_class_carries_its_exit_status_and_retry_policy(error_class, capsys):
    status, retry = TAXONOMY[error_class]
    error = error_class("Something failed. Fix: do the thing.")
    assert (error.exit_status, error.retry) == (status, retry)
    # Retrying at once or later is what exit 5 means, and only that.
    assert (status == oauth.EXIT_RETRY_LATER) == (retry in (oauth.RETRY_NOW, oauth.RETRY_LATER))
    assert (error.retry_after is not None) == (retry == oauth.RETRY_LATER)

    def main(argv):
        raise error

    assert tools.run_tool(main, json_errors=True) == status
    out, err = capsys.readouterr()
    assert err == "Error: Something failed. Fix: do the thing.\n"
    expected = {"code": error.code, "message": "Something failed. Fix: do the thing.", "exit_status": status,
                "retry": retry}
    if error.retry_after is not None:
        expected["retry_after"] = error.retry_after
    assert json.loads(out) == {"error": expected}


@pytest.mark.parametrize("exception", [KeyError("a secret could be here"), PermissionError(13, "Permission denied")],
                         ids=["KeyError", "PermissionError"])
def test_an_unexpected_exception_is_an_error_object_too(exception, capsys):
    def main(argv):
        raise exception

    assert tools.run_tool(main, json_errors=True) == oauth.EXIT_FAILED
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert (error["code"], error["exit_status"], error["retry"]) == ("unexpected", oauth.EXIT_FAILED,
                                                                      oauth.RETRY_NEVER)
    assert err == "Error: %s\n" % error["message"]
    assert "test_errors.py" in err and "secret" not in err


def test_usage_stands_beside_the_error_object(capsys):
    def main(argv):
        raise oauth.RateLimitError("Throttled. Fix: later.")

    usage = {"api_calls": 3, "credits_remaining": 120}
    assert tools.run_tool(main, json_errors=True, usage=lambda: usage) == oauth.EXIT_RETRY_LATER
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": {"code": "TOO_MANY_REQUESTS", "message": "Throttled. Fix: later.",
                                         "exit_status": oauth.EXIT_RETRY_LATER, "retry": oauth.RETRY_NOW}, **usage}
    assert err == "Error: Throttled. Fix: later.\n"


def test_without_json_errors_stdout_stays_empty(capsys):
    def main(argv):
        raise oauth.ConfigError("Broken. Fix: mend it.")

    assert tools.run_tool(main) == oauth.EXIT_CONFIG
    assert capsys.readouterr() == ("", "Error: Broken. Fix: mend it.\n")


@pytest.mark.parametrize("body, grant, error_class", [
    ({"error": "invalid_code"}, "refresh_token", oauth.InvalidCodeError),
    ({"error": "invalid_code"}, "authorization_code", oauth.InvalidCodeError),
    ({"error": "invalid_client"}, "refresh_token", oauth.InvalidClientError),
    ({"error": "invalid_client_secret"}, "authorization_code", oauth.InvalidClientSecretError),
    ({"error": "invalid_redirect_uri"}, "authorization_code", oauth.InvalidRedirectUriError),
    ({"error": "Access Denied", "error_description": "Token creation throttle limit reached."}, "refresh_token",
     oauth.TokenThrottledError),
    ({"error": "access denied"}, "refresh_token", oauth.TokenThrottledError),
    ({"error": "unsupported_grant_type"}, "refresh_token", oauth.OAuthError),
])
def test_every_token_endpoint_answer_maps_to_its_class(body, grant, error_class):
    error = oauth.token_error(body, grant, "https://accounts.zoho.eu")
    assert type(error) is error_class
    assert "Fix:" in str(error) and "\n" not in str(error) and "%(" not in str(error)
