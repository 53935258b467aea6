"""Contract tests for the ``auth`` tag: every operation of AuthApi on the wire, with typed results.

The external-principal operations are also tagged ``external`` and ``experimental``; they
are exercised once, here (their first tag).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    ACL,
    AuthenticationToken,
    Credentials,
    CredentialsList,
    CredentialsWithSecret,
    CurrentUser,
    ExternalPrincipal,
    ExternalPrincipalCreation,
    ExternalPrincipalList,
    Group,
    GroupCreation,
    GroupList,
    LoginInformation,
    Policy,
    PolicyList,
    Statement,
    User,
    UserCreation,
    UserList,
)

from support.contract import Wire, assert_result, json_body, query_dict, segments

USER = "jane.doe@example.com"
GROUP = "data-engineers"
POLICY = "FSReadWriteAll"
ACCESS_KEY_ID = "AKIAJ7EXAMPLEKEY0001"
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/lakefs-reader/jane"


def api(client: ApiClient) -> lakefs_sdk.AuthApi:
    return lakefs_sdk.AuthApi(client)


def read_write_policy() -> Policy:
    return Policy(
        id=POLICY,
        statement=[
            Statement(
                effect="allow",
                resource="arn:lakefs:fs:::repository/example-repo/*",
                action=["fs:ReadObject", "fs:WriteObject"],
            ),
            Statement(
                effect="deny", resource="arn:lakefs:fs:::repository/example-repo/object/secrets/*", action=["fs:*"]
            ),
        ],
    )


POLICY_JSON = {
    "id": POLICY,
    "statement": [
        {
            "effect": "allow",
            "resource": "arn:lakefs:fs:::repository/example-repo/*",
            "action": ["fs:ReadObject", "fs:WriteObject"],
        },
        {"effect": "deny", "resource": "arn:lakefs:fs:::repository/example-repo/object/secrets/*", "action": ["fs:*"]},
    ],
}


# -- session and current user -------------------------------------------------------------


def test_get_current_user(any_client: ApiClient, wire: Wire) -> None:
    current = api(any_client).get_current_user()
    sent = wire.only("getCurrentUser")
    assert sent.request.header(
        "Authorization",
    ).startswith("Basic ")  # type: ignore[union-attr]
    assert_result(current, CurrentUser, sent)
    assert isinstance(current.user, User)


def test_login(any_client: ApiClient, wire: Wire) -> None:
    token = api(any_client).login(
        LoginInformation(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG")
    )
    sent = wire.only("login")
    assert json_body(sent) == {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}
    assert sent.request.header("Authorization") is None, "login has `security: []`"
    assert_result(token, AuthenticationToken, sent)
    assert isinstance(token.token, str)


def test_oauth_callback_static(client: ApiClient, static_wire: Wire) -> None:
    """oauthCallback documents only 302, 401 and default. Prism (static only: the dynamic
    default body is random) answers 200 with the ``default`` (Error) body; the SDK, which
    knows no 2xx body for this operation, returns None."""
    response = api(client).oauth_callback_with_http_info()
    sent = static_wire.only("oauthCallback", 200)
    assert sent.request.header("Authorization") is None
    assert response.status_code == 200 and response.data is None
    assert response.raw_data == sent.response_body


# -- users ----------------------------------------------------------------------------------


def test_list_users(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_users(prefix="jane", after="bob@example.com", amount=10)
    sent = wire.only("listUsers")
    assert query_dict(sent) == {"prefix": "jane", "after": "bob@example.com", "amount": "10"}
    assert_result(page, UserList, sent)
    assert all(isinstance(user, User) for user in page.results)


def test_create_user(any_client: ApiClient, wire: Wire) -> None:
    user = api(any_client).create_user(UserCreation(id=USER, invite_user=True))
    sent = wire.only("createUser", 201)
    assert json_body(sent) == {"id": USER, "invite_user": True}
    assert_result(user, User, sent)
    assert isinstance(user.creation_date, int)


def test_get_user(any_client: ApiClient, wire: Wire) -> None:
    user = api(any_client).get_user(USER)
    sent = wire.only("getUser")
    assert segments(sent) == ["auth", "users", USER]
    assert_result(user, User, sent)


def test_delete_user(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_user(USER) is None
    assert wire.only("deleteUser", 204).method == "DELETE"


# -- groups ---------------------------------------------------------------------------------


def test_list_groups(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_groups(prefix="data-", amount=25)
    sent = wire.only("listGroups")
    assert query_dict(sent) == {"prefix": "data-", "amount": "25"}
    assert_result(page, GroupList, sent)
    assert all(isinstance(group, Group) for group in page.results)


def test_create_group(any_client: ApiClient, wire: Wire) -> None:
    group = api(any_client).create_group(GroupCreation(id=GROUP, description="Owns the ingestion pipelines"))
    sent = wire.only("createGroup", 201)
    assert json_body(sent) == {"id": GROUP, "description": "Owns the ingestion pipelines"}
    assert_result(group, Group, sent)


def test_get_group(any_client: ApiClient, wire: Wire) -> None:
    group = api(any_client).get_group(GROUP)
    sent = wire.only("getGroup")
    assert segments(sent) == ["auth", "groups", GROUP]
    assert_result(group, Group, sent)


def test_delete_group(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_group(GROUP) is None
    assert wire.only("deleteGroup", 204).method == "DELETE"


def test_list_group_members(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_group_members(GROUP, prefix="j", after="alice@example.com", amount=50)
    sent = wire.only("listGroupMembers")
    assert segments(sent) == ["auth", "groups", GROUP, "members"]
    assert query_dict(sent) == {"prefix": "j", "after": "alice@example.com", "amount": "50"}
    assert_result(page, UserList, sent)


def test_add_group_membership(any_client: ApiClient, wire: Wire) -> None:
    response = api(any_client).add_group_membership_with_http_info(GROUP, USER)
    sent = wire.only("addGroupMembership", 201)
    assert sent.method == "PUT" and segments(sent) == ["auth", "groups", GROUP, "members", USER]
    assert response.status_code == 201 and response.data is None


def test_delete_group_membership(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_group_membership(GROUP, USER) is None
    assert wire.only("deleteGroupMembership", 204).method == "DELETE"


def test_set_group_acl(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).set_group_acl(GROUP, ACL(permission="Write")) is None
    sent = wire.only("setGroupACL", 201)
    assert json_body(sent) == {"permission": "Write"}


def test_get_group_acl(any_client: ApiClient, wire: Wire) -> None:
    acl = api(any_client).get_group_acl(GROUP)
    sent = wire.only("getGroupACL")
    assert segments(sent) == ["auth", "groups", GROUP, "acl"]
    assert_result(acl, ACL, sent)
    assert isinstance(acl.permission, str)


# -- policies -------------------------------------------------------------------------------


def test_list_policies(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_policies(prefix="FS", after="Admin", amount=100)
    sent = wire.only("listPolicies")
    assert query_dict(sent) == {"prefix": "FS", "after": "Admin", "amount": "100"}
    assert_result(page, PolicyList, sent)
    assert all(isinstance(policy, Policy) and policy.statement for policy in page.results)


def test_create_policy(any_client: ApiClient, wire: Wire) -> None:
    policy = api(any_client).create_policy(read_write_policy())
    sent = wire.only("createPolicy", 201)
    assert json_body(sent) == POLICY_JSON
    assert_result(policy, Policy, sent)
    assert all(isinstance(statement, Statement) for statement in policy.statement)


def test_get_policy(any_client: ApiClient, wire: Wire) -> None:
    policy = api(any_client).get_policy(POLICY)
    sent = wire.only("getPolicy")
    assert segments(sent) == ["auth", "policies", POLICY]
    assert_result(policy, Policy, sent)


def test_update_policy(any_client: ApiClient, wire: Wire) -> None:
    policy = api(any_client).update_policy(POLICY, read_write_policy())
    sent = wire.only("updatePolicy")
    assert sent.method == "PUT" and json_body(sent) == POLICY_JSON
    assert_result(policy, Policy, sent)


def test_delete_policy(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_policy(POLICY) is None
    assert wire.only("deletePolicy", 204).method == "DELETE"


def test_list_user_policies(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_user_policies(USER, amount=20, effective=True)
    sent = wire.only("listUserPolicies")
    assert query_dict(sent) == {"amount": "20", "effective": "true"}
    assert_result(page, PolicyList, sent)


def test_list_group_policies(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_group_policies(GROUP, prefix="FS")
    sent = wire.only("listGroupPolicies")
    assert query_dict(sent) == {"prefix": "FS"}
    assert_result(page, PolicyList, sent)


# Attaching and detaching policies: 201 / 204 with no body.
ATTACHMENTS: list[tuple[str, Callable[[lakefs_sdk.AuthApi], Any], int, list[str]]] = [
    (
        "attachPolicyToUser",
        lambda a: a.attach_policy_to_user_with_http_info(USER, POLICY),
        201,
        ["auth", "users", USER, "policies", POLICY],
    ),
    (
        "detachPolicyFromUser",
        lambda a: a.detach_policy_from_user_with_http_info(USER, POLICY),
        204,
        ["auth", "users", USER, "policies", POLICY],
    ),
    (
        "attachPolicyToGroup",
        lambda a: a.attach_policy_to_group_with_http_info(GROUP, POLICY),
        201,
        ["auth", "groups", GROUP, "policies", POLICY],
    ),
    (
        "detachPolicyFromGroup",
        lambda a: a.detach_policy_from_group_with_http_info(GROUP, POLICY),
        204,
        ["auth", "groups", GROUP, "policies", POLICY],
    ),
]


@pytest.mark.parametrize(("operation_id", "call", "status", "path"), ATTACHMENTS, ids=[a[0] for a in ATTACHMENTS])
def test_policy_attachment(
    any_client: ApiClient,
    wire: Wire,
    operation_id: str,
    call: Callable[[lakefs_sdk.AuthApi], Any],
    status: int,
    path: list[str],
) -> None:
    response = call(api(any_client))
    sent = wire.only(operation_id, status)
    assert segments(sent) == path
    assert response.status_code == status and response.data is None and response.raw_data == b""


# -- credentials ----------------------------------------------------------------------------


def test_list_user_credentials(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_user_credentials(USER, prefix="AKIA", amount=5)
    sent = wire.only("listUserCredentials")
    assert query_dict(sent) == {"prefix": "AKIA", "amount": "5"}
    assert_result(page, CredentialsList, sent)
    assert all(isinstance(c, Credentials) for c in page.results)


def test_create_credentials(any_client: ApiClient, wire: Wire) -> None:
    credentials = api(any_client).create_credentials(USER)
    sent = wire.only("createCredentials", 201)
    assert sent.method == "POST" and sent.request.body == b""
    assert_result(credentials, CredentialsWithSecret, sent)
    assert isinstance(credentials.secret_access_key, str)
    assert "secret_access_key='[REDACTED]'" in repr(credentials), "the secret stays out of repr()"


def test_get_credentials(any_client: ApiClient, wire: Wire) -> None:
    credentials = api(any_client).get_credentials(USER, ACCESS_KEY_ID)
    sent = wire.only("getCredentials")
    assert segments(sent) == ["auth", "users", USER, "credentials", ACCESS_KEY_ID]
    assert_result(credentials, Credentials, sent)


def test_delete_credentials(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_credentials(USER, ACCESS_KEY_ID) is None
    assert wire.only("deleteCredentials", 204).method == "DELETE"


def test_list_user_groups(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_user_groups(USER, after="admins", amount=10)
    sent = wire.only("listUserGroups")
    assert query_dict(sent) == {"after": "admins", "amount": "10"}
    assert_result(page, GroupList, sent)


# -- external principals (also tagged external and experimental) -----------------------------


def test_create_user_external_principal(any_client: ApiClient, wire: Wire) -> None:
    creation = ExternalPrincipalCreation(settings={"issuer": "https://sts.amazonaws.com", "role": "lakefs-reader"})
    response = api(any_client).create_user_external_principal_with_http_info(USER, PRINCIPAL, creation)
    sent = wire.only("createUserExternalPrincipal", 201)
    assert query_dict(sent) == {"principalId": PRINCIPAL}
    assert json_body(sent) == {"settings": {"issuer": "https://sts.amazonaws.com", "role": "lakefs-reader"}}
    assert response.status_code == 201 and response.data is None


def test_external_principal_settings_as_a_list_is_a_spec_violation(
    unchecked_client: ApiClient, unchecked_wire: Wire
) -> None:
    """Known disagreement: ``ExternalPrincipalCreation.settings`` is ``type: object`` with
    array ``items`` in the spec; x-lakefs-python-type lets the model take a list too, but
    Prism (following ``type``) rejects the list form. The SDK sends what it was given."""
    creation = ExternalPrincipalCreation(settings=[{"issuer": "https://sts.amazonaws.com"}])
    with pytest.raises(lakefs_sdk.BadRequestException):
        api(unchecked_client).create_user_external_principal(USER, PRINCIPAL, creation)
    sent = unchecked_wire.only("createUserExternalPrincipal", 400)
    assert json_body(sent) == {"settings": [{"issuer": "https://sts.amazonaws.com"}]}
    assert '"location":["request","body","settings"]' in (sent.violations or "")


def test_delete_user_external_principal(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_user_external_principal(USER, PRINCIPAL) is None
    sent = wire.only("deleteUserExternalPrincipal", 204)
    assert query_dict(sent) == {"principalId": PRINCIPAL}


def test_list_user_external_principals(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_user_external_principals(USER, prefix="arn:aws:sts::", amount=10)
    sent = wire.only("listUserExternalPrincipals")
    assert segments(sent) == ["auth", "users", USER, "external", "principals", "ls"]
    assert query_dict(sent) == {"prefix": "arn:aws:sts::", "amount": "10"}
    assert_result(page, ExternalPrincipalList, sent)


def test_get_external_principal(any_client: ApiClient, wire: Wire) -> None:
    principal = api(any_client).get_external_principal(PRINCIPAL)
    sent = wire.only("getExternalPrincipal")
    assert query_dict(sent) == {"principalId": PRINCIPAL}
    assert_result(principal, ExternalPrincipal, sent)
    assert principal.settings is None or isinstance(principal.settings, (dict, list))
