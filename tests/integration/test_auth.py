"""The ``auth`` tag on the real server: login, the four ways to authenticate, users and
credentials, and what the open-source edition (RBAC off) refuses.

What lakeFS's open-source auth service (``BasicAuthService``) really does, and these
tests assert:

* there is exactly one user, the admin: ``createUser`` answers 409 for any new id (the
  single user slot is taken) and ``listUsers`` returns the admin whatever the filters;
* the admin may hold one credential, so ``createCredentials`` answers 400; listing and
  deleting credentials are not implemented (501);
* groups, policies, ACLs, memberships and external principals all answer 501;
* ``getCurrentUser`` answers 200 with an empty user to a caller without credentials;
* cookie auth takes the signed ``internal_auth_session`` cookie that ``login`` sets, not
  the raw JWT.

The external-principal operations are also tagged ``external`` and ``experimental``;
they are called here, under their first tag.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk.models import (
    ACL,
    AuthenticationToken,
    Credentials,
    CurrentUser,
    ExternalPrincipalCreation,
    GroupCreation,
    LoginInformation,
    Policy,
    Statement,
    User,
    UserCreation,
)

from support.lakefs import LakeFS, Wire, statuses, unique_name
from support.recording_proxy import RecordingProxy
from support.scripts import load_script

ADMIN = "admin"
SESSION_COOKIE = "internal_auth_session"


def auth(client: lakefs_sdk.LakeFSClient) -> lakefs_sdk.AuthApi:
    return client.auth_api


def bare_configuration(lakefs_proxy: RecordingProxy, **kwargs: Any) -> lakefs_sdk.Configuration:
    """A configuration pointed at the proxy with only the credentials given here."""
    configuration = lakefs_sdk.Configuration(host=lakefs_proxy.url, **kwargs)
    configuration.retry_backoff = 0.05
    return configuration


def login(lakefs: LakeFS, client: lakefs_sdk.LakeFSClient) -> lakefs_sdk.ApiResponse[AuthenticationToken]:
    info = LoginInformation(access_key_id=lakefs.access_key_id, secret_access_key=lakefs.secret_access_key)
    return auth(client).login_with_http_info(info)


def session_cookie(set_cookie: str) -> str:
    """The value of the ``internal_auth_session`` cookie in a ``Set-Cookie`` header."""
    pair = set_cookie.split(";", 1)[0]
    name, _, value = pair.partition("=")
    assert name.strip() == SESSION_COOKIE, set_cookie
    return value


# -- login and the ways to authenticate ------------------------------------------------------


def test_login_returns_a_jwt_that_works_as_a_bearer_token(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, lakefs_proxy: RecordingProxy, wire: Wire
) -> None:
    response = login(lakefs, lakefs_client)
    token = response.data
    assert response.status_code == 200 and isinstance(token, AuthenticationToken)
    assert token.token.count(".") == 2, "a JWT: header.payload.signature"
    assert isinstance(token.token_expiration, int) and token.token_expiration > time.time()
    sent = wire.last("login")
    assert sent.request.header("Authorization") is None, "login has `security: []`"
    assert "[REDACTED]" in repr(token) and token.token not in repr(token)

    with lakefs_sdk.LakeFSClient(bare_configuration(lakefs_proxy, access_token=token.token)) as bearer:
        current = auth(bearer).get_current_user()
        users = auth(bearer).list_users()  # getCurrentUser answers anyone; listUsers needs a user
    assert isinstance(current, CurrentUser) and current.user.id == ADMIN
    assert [u.id for u in users.results] == [ADMIN]
    assert wire.last("getCurrentUser").request.header("Authorization") == f"Bearer {token.token}"
    assert wire.last("listUsers").status == 200


def test_get_current_user_without_credentials_is_an_empty_user(lakefs_proxy: RecordingProxy, wire: Wire) -> None:
    """lakeFS answers 200 with ``id: ""`` (not 401) when no credentials came with the request."""
    with lakefs_sdk.LakeFSClient(bare_configuration(lakefs_proxy)) as anonymous:
        current = auth(anonymous).get_current_user()
        with pytest.raises(lakefs_sdk.UnauthorizedException) as refused:
            auth(anonymous).list_users()
    assert current.user.id == "" and current.user.creation_date == 0
    assert wire.last("getCurrentUser").request.header("Authorization") is None
    assert refused.value.status == 401 and refused.value.request_id
    assert refused.value.message == "error authenticating request"


def test_cookie_auth_takes_the_session_cookie_that_login_sets(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, lakefs_proxy: RecordingProxy, wire: Wire
) -> None:
    response = login(lakefs, lakefs_client)
    assert response.headers is not None
    cookie = session_cookie(response.headers["Set-Cookie"])
    assert cookie and cookie != response.data.token, "the cookie is a signed session, not the JWT itself"

    with lakefs_sdk.LakeFSClient(bare_configuration(lakefs_proxy, api_key={"cookie_auth": cookie})) as by_cookie:
        current = auth(by_cookie).get_current_user()
        users = auth(by_cookie).list_users()
    assert current.user.id == ADMIN and [u.id for u in users.results] == [ADMIN]
    sent = wire.last("listUsers")
    assert sent.request.header("Cookie") == f"{SESSION_COOKIE}={cookie}"
    assert sent.request.header("Authorization") is None

    # The raw JWT in the cookie is no session: the server sees no user at all.
    raw = {"cookie_auth": response.data.token}
    with lakefs_sdk.LakeFSClient(bare_configuration(lakefs_proxy, api_key=raw)) as by_jwt:
        assert auth(by_jwt).get_current_user().user.id == ""
        with pytest.raises(lakefs_sdk.UnauthorizedException) as refused:
            auth(by_jwt).list_users()
    assert refused.value.status == 401 and refused.value.request_id


def test_token_provider_is_asked_to_refresh_after_a_401(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, lakefs_proxy: RecordingProxy, wire: Wire
) -> None:
    good = login(lakefs, lakefs_client).data.token
    seen: List[bool] = []

    def provider(refresh: bool) -> str:
        seen.append(refresh)
        return good if True in seen else "not-a-valid-token"

    configuration = bare_configuration(lakefs_proxy, access_token_provider=provider)
    start = len(wire.exchanges())
    with lakefs_sdk.LakeFSClient(configuration) as client:
        current = auth(client).get_current_user()
    assert current.user.id == ADMIN
    assert seen[0] is False and seen[-1] is True and seen.count(True) == 1, seen
    sent = [e for e in wire.exchanges()[start:] if e.operation_id == "getCurrentUser"]
    assert [e.status for e in sent] == [401, 200]
    assert [e.request.header("Authorization") for e in sent] == ["Bearer not-a-valid-token", f"Bearer {good}"]


def test_token_provider_whose_refreshed_token_is_refused_too_fails_after_one_retry(
    lakefs_proxy: RecordingProxy, wire: Wire
) -> None:
    seen: List[bool] = []

    def provider(refresh: bool) -> str:
        seen.append(refresh)
        return "refreshed-but-invalid" if refresh else "expired"

    with lakefs_sdk.LakeFSClient(bare_configuration(lakefs_proxy, access_token_provider=provider)) as client:
        with pytest.raises(lakefs_sdk.UnauthorizedException) as refused:
            auth(client).list_users()
    assert refused.value.status == 401 and refused.value.request_id
    assert seen[-1] is True and seen.count(True) == 1, seen
    sent = [e for e in wire.exchanges() if e.operation_id == "listUsers"]
    assert [e.status for e in sent] == [401, 401], "one retry with the refreshed token, no more"
    assert [e.request.header("Authorization") for e in sent] == ["Bearer expired", "Bearer refreshed-but-invalid"]


def test_wrong_secret_is_unauthorized(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, lakefs_proxy: RecordingProxy, wire: Wire
) -> None:
    wrong = "wJalrXUtnFEMI/K7MDENG/h4WRONGh4WRONGh4WRONG"
    with pytest.raises(lakefs_sdk.UnauthorizedException) as refused_login:
        auth(lakefs_client).login(LoginInformation(access_key_id=lakefs.access_key_id, secret_access_key=wrong))
    configuration = bare_configuration(lakefs_proxy, username=lakefs.access_key_id, password=wrong)
    with lakefs_sdk.LakeFSClient(configuration) as client:
        with pytest.raises(lakefs_sdk.UnauthorizedException) as refused_call:
            auth(client).get_current_user()
    for error in (refused_login.value, refused_call.value):
        assert error.status == 401 and error.request_id
        assert error.message == "error authenticating request"
        assert wrong not in str(error) and wrong not in repr(error)
    assert statuses(wire.exchanges(), "login") == [401] and statuses(wire.exchanges(), "getCurrentUser") == [401]


# -- users -----------------------------------------------------------------------------------


def test_the_admin_is_the_only_user(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    api = auth(lakefs_client)
    admin = api.get_user(ADMIN)
    assert isinstance(admin, User) and admin.id == ADMIN and admin.creation_date > 0
    page = api.list_users()
    assert [u.id for u in page.results] == [ADMIN] and page.pagination.has_more is False
    assert page.results[0].creation_date == admin.creation_date
    # The single-user service ignores prefix, after and amount.
    filtered = api.list_users(prefix="zz-no-such-user", after="zz", amount=1)
    assert [u.id for u in filtered.results] == [ADMIN]
    assert wire.last("listUsers").request.query == "prefix=zz-no-such-user&after=zz&amount=1"
    assert [u.id for u in api.list_users_iter(amount=1)] == [ADMIN]
    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        api.get_user(unique_name("nobody"))
    assert missing.value.status == 404 and missing.value.message == "user not found" and missing.value.request_id


def test_create_user_conflicts_and_creates_nothing(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    api = auth(lakefs_client)
    name = unique_name("h4-user")
    with pytest.raises(lakefs_sdk.ConflictException) as taken:
        api.create_user(UserCreation(id=name))
    assert taken.value.status == 409 and taken.value.message == "Already exists" and taken.value.request_id
    assert wire.last("createUser").request.body == f'{{"id":"{name}"}}'.encode()
    assert [u.id for u in api.list_users().results] == [ADMIN]
    with pytest.raises(lakefs_sdk.NotFoundException):
        api.get_user(name)
    with pytest.raises(lakefs_sdk.NotFoundException) as gone:
        api.delete_user(name)
    assert gone.value.status == 404 and gone.value.message == "user not found" and gone.value.request_id
    assert api.get_user(ADMIN).id == ADMIN, "deleting another id left the admin alone"


def test_deleting_the_only_user_locks_everyone_out(lakefs: LakeFS, tmp_path: Path) -> None:
    """On a private server (this is destructive), with the auth cache off so that the effect
    shows at once: deleteUser answers 204, and then neither the admin's key nor a JWT issued
    before authenticates any more."""
    if lakefs.binary is None:
        pytest.skip("LAKEFS_BIN is not set: no binary to start a private server with")
    server = _uncached_server(lakefs.binary, tmp_path / "lakefs", lakefs.version)
    server.start()
    try:
        private = lakefs.configuration(server.endpoint + "/api/v1", max_retries=0)
        with lakefs_sdk.LakeFSClient(private) as client:
            token = login(lakefs, client).data.token
            assert auth(client).get_current_user().user.id == ADMIN
            assert auth(client).delete_user_with_http_info(ADMIN).status_code == 204
            with pytest.raises(lakefs_sdk.UnauthorizedException) as by_key:
                auth(client).list_users()
        bearer = lakefs_sdk.Configuration(host=private.host, access_token=token, max_retries=0)
        with lakefs_sdk.LakeFSClient(bearer) as client:
            with pytest.raises(lakefs_sdk.UnauthorizedException) as by_token:
                auth(client).list_users()
        assert by_key.value.status == 401 and by_token.value.status == 401
    finally:
        server.cleanup()


def _uncached_server(binary: Path, workdir: Path, version: str) -> Any:
    """A private ``LakeFSServer`` whose auth service reads users and keys afresh on every request."""
    base = load_script("lakefs_server").LakeFSServer

    class UncachedServer(base):  # type: ignore[misc, valid-type]
        def config(self) -> Dict[str, Any]:
            config: Dict[str, Any] = super().config()
            config["auth"] = {**config["auth"], "cache": {"enabled": False}}
            return config

    return UncachedServer(binary, workdir, version)


# -- credentials -----------------------------------------------------------------------------


def test_credentials_of_the_admin(lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    api = auth(lakefs_client)
    credentials = api.get_credentials(ADMIN, lakefs.access_key_id)
    assert isinstance(credentials, Credentials)
    assert credentials.access_key_id == lakefs.access_key_id and credentials.creation_date > 0
    assert b"secret" not in wire.last("getCredentials").response_body, "the secret is never sent back"
    with pytest.raises(lakefs_sdk.NotFoundException) as unknown:
        api.get_credentials(ADMIN, "AKIAH4NOSUCHKEY00000")
    assert unknown.value.status == 404 and unknown.value.request_id

    # One credential per user in the open-source edition: the admin already has it.
    with pytest.raises(lakefs_sdk.BadRequestException) as full:
        api.create_credentials(ADMIN)
    assert full.value.status == 400 and full.value.request_id
    assert "exceeded number of allowed credentials" in (full.value.message or "")
    sent = wire.last("createCredentials")
    assert sent.method == "POST" and sent.request.body == b""

    with pytest.raises(lakefs_sdk.NotImplementedException) as listing:
        api.list_user_credentials(ADMIN, prefix="AKIA", amount=5)
    # A key that does not exist, so that a server which did implement deletion could not lock us out.
    with pytest.raises(lakefs_sdk.NotImplementedException) as deleting:
        api.delete_credentials(ADMIN, "AKIAH4NOSUCHKEY00000")
    for error in (listing.value, deleting.value):
        assert error.status == 501 and error.message == "Not Implemented" and error.request_id
    assert api.get_credentials(ADMIN, lakefs.access_key_id).access_key_id == lakefs.access_key_id
    assert api.get_current_user().user.id == ADMIN, "the admin's key still works"


# -- what RBAC-off refuses -------------------------------------------------------------------

GROUP = "h4-engineers"
POLICY = "h4-read-all"
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/h4-reader/session"


def _policy() -> Policy:
    return Policy(id=POLICY, statement=[Statement(effect="allow", resource="*", action=["fs:ReadObject"])])


NOT_IMPLEMENTED: List[Tuple[str, Callable[[lakefs_sdk.AuthApi], Any]]] = [
    ("listGroups", lambda a: a.list_groups(prefix="h4", amount=10)),
    ("createGroup", lambda a: a.create_group(GroupCreation(id=GROUP, description="made by h4"))),
    ("getGroup", lambda a: a.get_group(GROUP)),
    ("deleteGroup", lambda a: a.delete_group(GROUP)),
    ("listGroupMembers", lambda a: a.list_group_members(GROUP, amount=10)),
    ("addGroupMembership", lambda a: a.add_group_membership(GROUP, ADMIN)),
    ("deleteGroupMembership", lambda a: a.delete_group_membership(GROUP, ADMIN)),
    ("listGroupPolicies", lambda a: a.list_group_policies(GROUP)),
    ("attachPolicyToGroup", lambda a: a.attach_policy_to_group(GROUP, POLICY)),
    ("detachPolicyFromGroup", lambda a: a.detach_policy_from_group(GROUP, POLICY)),
    ("setGroupACL", lambda a: a.set_group_acl(GROUP, ACL(permission="Read"))),
    ("getGroupACL", lambda a: a.get_group_acl(GROUP)),
    ("listPolicies", lambda a: a.list_policies(prefix="h4")),
    ("createPolicy", lambda a: a.create_policy(_policy())),
    ("getPolicy", lambda a: a.get_policy(POLICY)),
    ("updatePolicy", lambda a: a.update_policy(POLICY, _policy())),
    ("deletePolicy", lambda a: a.delete_policy(POLICY)),
    ("listUserGroups", lambda a: a.list_user_groups(ADMIN)),
    ("listUserPolicies", lambda a: a.list_user_policies(ADMIN, effective=True)),
    ("attachPolicyToUser", lambda a: a.attach_policy_to_user(ADMIN, POLICY)),
    ("detachPolicyFromUser", lambda a: a.detach_policy_from_user(ADMIN, POLICY)),
    (
        "createUserExternalPrincipal",
        lambda a: a.create_user_external_principal(ADMIN, PRINCIPAL, ExternalPrincipalCreation(settings={"k": "v"})),
    ),
    ("deleteUserExternalPrincipal", lambda a: a.delete_user_external_principal(ADMIN, PRINCIPAL)),
    ("listUserExternalPrincipals", lambda a: a.list_user_external_principals(ADMIN, amount=10)),
    ("getExternalPrincipal", lambda a: a.get_external_principal(PRINCIPAL)),
]


@pytest.mark.parametrize(("operation_id", "call"), NOT_IMPLEMENTED, ids=[n for n, _ in NOT_IMPLEMENTED])
def test_rbac_operations_are_not_implemented(
    lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire, operation_id: str, call: Callable[[lakefs_sdk.AuthApi], Any]
) -> None:
    with pytest.raises(lakefs_sdk.NotImplementedException) as refused:
        call(auth(lakefs_client))
    error = refused.value
    assert isinstance(error, lakefs_sdk.ServiceException)
    assert error.status == 501 and error.message == "Not Implemented" and error.request_id
    assert error.operation == operation_id
    assert statuses(wire.exchanges(), operation_id) == [501], "501 is an answer: not retried"


# -- OIDC callback ---------------------------------------------------------------------------


@pytest.fixture
def anonymous_client(lakefs_proxy: RecordingProxy) -> Iterator[lakefs_sdk.LakeFSClient]:
    with lakefs_sdk.LakeFSClient(bare_configuration(lakefs_proxy)) as client:
        yield client


def test_oauth_callback_without_oidc_answers_200_with_no_body(
    anonymous_client: lakefs_sdk.LakeFSClient, wire: Wire
) -> None:
    """No OIDC provider is configured: lakeFS's callback does nothing and answers 200 with an
    empty body, a status the spec does not list (302, 401, default); the SDK returns None."""
    response = auth(anonymous_client).oauth_callback_with_http_info()
    assert response.status_code == 200 and response.data is None and response.raw_data == b""
    sent = wire.last("oauthCallback")
    assert sent.method == "GET" and sent.status == 200 and sent.response_body == b""
    assert sent.response_header("Set-Cookie") is None, "no session was started"
    assert sent.response_header("X-Request-Id")
