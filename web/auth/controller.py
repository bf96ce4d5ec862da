"""`/auth/*` and `/me`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body, Parameter
from litestar.response import Redirect

from runtime.errors import CodedError, ErrorCode
from web.auth import mfa, oidc, recovery, service, webauthn
from web.auth.guards import requires_authenticated
from web.auth.identity import Principal
from web.auth.ratelimit import enforce
from web.auth.schemas import (
    AcceptIn,
    ForgotIn,
    LinkIn,
    LoginIn,
    LoginOut,
    MeOut,
    MfaChallengeOut,
    MfaEnabledOut,
    MfaSetupOut,
    MfaTokenIn,
    MfaVerifyIn,
    OidcProviderOut,
    PartnerOut,
    PasskeyLoginIn,
    PasskeyOut,
    PasskeyRegisterIn,
    PasskeySetupIn,
    PendingOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    ResetIn,
    TenantOut,
    TokenIn,
    UserOut,
    VerifiedOut,
)
from web.deps import client_ip

COOKIE = "hb_refresh"
PUBLIC = {"exclude_from_auth": True}


def _refresh_cookie(request: Request, value: str, max_age: int) -> Cookie:
    settings = request.app.state.settings
    return Cookie(
        key=COOKIE,
        value=value,
        max_age=max_age,
        path="/api/v1/auth",
        httponly=True,
        samesite="strict",
        secure=settings.http.secure_cookies,
    )


async def _throttle(request: Request, action: str, email: str | None) -> None:
    """Login's limits: per client IP, and per email when the request names one."""
    auth = request.app.state.settings.auth
    limits = {f"{action}:ip:{(client_ip(request) or 'unknown')}": auth.login_ip_limit}
    if email is not None:
        limits[f"{action}:email:{email.lower()}"] = auth.login_limit
    await enforce(limits, auth.login_window_s)


async def new_session(request: Request, user: dict) -> tuple[LoginOut, Cookie]:
    """A new session for `user`: access and refresh tokens, and the refresh cookie."""
    access, expires_in, refresh = await service.start_session(user)
    body = LoginOut(access, "bearer", expires_in, msgspec.convert(user, UserOut), refresh)
    ttl = request.app.state.settings.auth.refresh_ttl_s
    return body, _refresh_cookie(request, refresh, ttl)


async def session_response(request: Request, user: dict) -> Response[LoginOut]:
    """A new session for `user` as the answer (login, MFA, invitation, password change)."""
    body, cookie = await new_session(request, user)
    return Response(body, cookies=[cookie])


async def _still_without_factor(challenge: mfa.Challenge) -> dict[str, Any]:
    """The user of a set-up challenge, while they still have no second factor (a set-up token
    issued before they enrolled one cannot add another)."""
    user = await mfa.challenged_user(challenge)
    if (await mfa.pending(user))[0] != "setup":
        raise CodedError(ErrorCode.CONFLICT, "A second factor is set up already.", 409)
    return user


async def login_answer(request: Request, user: dict) -> Response[LoginOut | MfaChallengeOut]:
    """The session, or the MFA challenge when the account has or needs a second factor."""
    kind, factors = await mfa.pending(user)
    if kind is not None:
        token = mfa.issue_challenge(user, kind)
        return Response(MfaChallengeOut(True, kind, token, mfa.CHALLENGE_TTL_S, factors))
    body, cookie = await new_session(request, user)
    return Response(body, cookies=[cookie])


class AuthController(Controller):
    """Registration, login, token refresh and logout."""

    path = "/auth"
    tags = ["auth"]

    @post("/register", opt=PUBLIC, status_code=201)
    async def register(self, request: Request, data: RegisterIn) -> Response[RegisterOut | PendingOut]:
        """Create a workspace (tenant) whose first user is its tenant_admin, and log in.

        From a domain a tenant has claimed: 202, a link is mailed, and using it creates the
        account as a `user` of that tenant (docs/identity.md "Domain claims").
        """
        await _throttle(request, "register", data.email)
        created = await service.register(
            data.email, data.password, data.full_name, data.workspace_name, client_ip(request)
        )
        if created is None:
            return Response(PendingOut("verification_sent", data.email.lower()), status_code=202)
        user, tenant = created
        access, expires_in, refresh = await service.start_session(user)
        body = RegisterOut(
            access_token=access,
            token_type="bearer",
            expires_in=expires_in,
            user=msgspec.convert(user, UserOut),
            tenant=msgspec.convert(tenant, TenantOut),
            refresh_token=refresh,
        )
        ttl = request.app.state.settings.auth.refresh_ttl_s
        return Response(body, status_code=201, cookies=[_refresh_cookie(request, refresh, ttl)])

    @post("/login", opt=PUBLIC, status_code=200)
    async def login(self, request: Request, data: LoginIn) -> Response[LoginOut | MfaChallengeOut]:
        """Exchange email and password for an access token and a refresh token, or for an
        MFA challenge when the account has (or its workspace requires) a second factor."""
        await _throttle(request, "login", data.email)
        user = await service.authenticate(data.email, data.password, client_ip(request))
        return await login_answer(request, user)

    @post("/mfa/verify", opt=PUBLIC, status_code=200)
    async def mfa_verify(self, request: Request, data: MfaVerifyIn) -> Response[LoginOut]:
        """Second step of login: a TOTP or recovery code for the challenge token."""
        challenge = mfa.read_challenge(data.mfa_token, "verify")
        await _throttle(request, "mfa", str(challenge.sub))
        await mfa.check_code(challenge.sub, challenge.tenant_id, data.code, client_ip(request))
        return await session_response(request, await mfa.challenged_user(challenge))

    @post("/mfa/setup", opt=PUBLIC, status_code=200)
    async def mfa_setup(self, request: Request, data: MfaTokenIn) -> MfaSetupOut:
        """Enrol during login, when the workspace requires a second factor."""
        challenge = mfa.read_challenge(data.mfa_token, "setup")
        await _throttle(request, "mfa", str(challenge.sub))
        secret, uri = await mfa.start_enrolment(challenge.sub, challenge.tenant_id)
        return MfaSetupOut(secret, uri)

    @post("/mfa/confirm", opt=PUBLIC, status_code=200)
    async def mfa_confirm(self, request: Request, data: MfaVerifyIn) -> Response[MfaEnabledOut]:
        """Finish enrolment during login: the recovery codes (shown once) and the session."""
        challenge = mfa.read_challenge(data.mfa_token, "setup")
        await _throttle(request, "mfa", str(challenge.sub))
        codes = await mfa.confirm_enrolment(challenge.sub, challenge.tenant_id, data.code, client_ip(request))
        session, cookie = await new_session(request, await mfa.challenged_user(challenge))
        return Response(MfaEnabledOut(codes, session), cookies=[cookie])

    @post("/mfa/setup/webauthn/begin", opt=PUBLIC, status_code=200)
    async def passkey_setup_begin(self, request: Request, data: MfaTokenIn) -> dict[str, Any]:
        """Enrol a passkey instead of TOTP during login, when the workspace requires a second
        factor: creation options, as `/mfa/webauthn/register/begin` gives them."""
        challenge = mfa.read_challenge(data.mfa_token, "setup")
        await _throttle(request, "mfa", str(challenge.sub))
        await _still_without_factor(challenge)
        return await webauthn.register_begin(challenge.sub, challenge.tenant_id)

    @post("/mfa/setup/webauthn/complete", opt=PUBLIC, status_code=200)
    async def passkey_setup_complete(self, request: Request, data: PasskeySetupIn) -> Response[LoginOut]:
        """Store the passkey and start the session (no recovery codes: those come with TOTP,
        which can be added from the profile)."""
        challenge = mfa.read_challenge(data.mfa_token, "setup")
        await _throttle(request, "mfa", str(challenge.sub))
        user = await _still_without_factor(challenge)
        await webauthn.register_complete(
            challenge.sub, challenge.tenant_id, data.credential, data.name, client_ip(request)
        )
        return await session_response(request, user)

    # Passkeys (web/auth/webauthn.py): registered while signed in, used as the login's
    # second step with the MFA challenge token.

    @post("/mfa/webauthn/register/begin", guards=[requires_authenticated], status_code=200)
    async def passkey_register_begin(self, me: Principal) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptions (JSON, base64url) for a new passkey; the
        challenge is kept server-side for five minutes, single use."""
        return await webauthn.register_begin(me.id, me.tenant_id)

    @post("/mfa/webauthn/register/complete", guards=[requires_authenticated], status_code=201)
    async def passkey_register_complete(
        self, request: Request, me: Principal, data: PasskeyRegisterIn
    ) -> PasskeyOut:
        """Store the new passkey (`navigator.credentials.create` answer, as JSON)."""
        row = await webauthn.register_complete(
            me.id, me.tenant_id, data.credential, data.name, client_ip(request)
        )
        return msgspec.convert(row, PasskeyOut)

    @get("/mfa/webauthn/credentials", guards=[requires_authenticated])
    async def passkeys(self, me: Principal) -> list[PasskeyOut]:
        """Your passkeys."""
        return msgspec.convert(await webauthn.list_credentials(me.id, me.tenant_id), list[PasskeyOut])

    @delete(
        "/mfa/webauthn/credentials/{credential_id:uuid}", guards=[requires_authenticated], status_code=204
    )
    async def passkey_delete(self, request: Request, me: Principal, credential_id: uuid.UUID) -> None:
        """Remove one of your passkeys (refused for the last second factor where required)."""
        await webauthn.delete_credential(me.id, me.tenant_id, credential_id, client_ip(request))

    @post("/mfa/webauthn/login/begin", opt=PUBLIC, status_code=200)
    async def passkey_login_begin(self, request: Request, data: MfaTokenIn) -> dict[str, Any]:
        """Second step of login with a passkey: request options for the challenge's user."""
        challenge = mfa.read_challenge(data.mfa_token, "verify")
        await _throttle(request, "mfa", str(challenge.sub))
        return await webauthn.login_begin(challenge.sub, challenge.tenant_id, data.mfa_token)

    @post("/mfa/webauthn/login/complete", opt=PUBLIC, status_code=200)
    async def passkey_login_complete(self, request: Request, data: PasskeyLoginIn) -> Response[LoginOut]:
        """The assertion (`navigator.credentials.get` answer, as JSON): the same session as
        the TOTP step."""
        challenge = mfa.read_challenge(data.mfa_token, "verify")
        await _throttle(request, "mfa", str(challenge.sub))
        await webauthn.login_complete(
            challenge.sub, challenge.tenant_id, data.mfa_token, data.credential, client_ip(request)
        )
        return await session_response(request, await mfa.challenged_user(challenge))

    @post("/refresh", opt=PUBLIC, status_code=200)
    async def refresh(
        self, request: Request, data: Annotated[RefreshIn | None, Body()] = None
    ) -> Response[LoginOut]:
        """Rotate a refresh token (cookie or body); a reused one revokes its whole family."""
        token = (data.refresh_token if data else None) or request.cookies.get(COOKIE)
        if not token or len(token) > 200:
            raise NotAuthorizedException("No refresh token presented.")
        user, access, expires_in, new = await service.rotate(token)
        body = LoginOut(access, "bearer", expires_in, msgspec.convert(user, UserOut), new)
        ttl = request.app.state.settings.auth.refresh_ttl_s
        return Response(body, cookies=[_refresh_cookie(request, new, ttl)])

    @post("/verify-email", opt=PUBLIC, status_code=200)
    async def verify_email(self, request: Request, data: TokenIn) -> VerifiedOut:
        """Use a mailed verification link (register, email change, domain join)."""
        await _throttle(request, "verify", None)
        return VerifiedOut(await recovery.verify_email(data.token, client_ip(request)), True)

    @post("/password/forgot", opt=PUBLIC, status_code=202)
    async def forgot_password(self, request: Request, data: ForgotIn) -> PendingOut:
        """Mail a 15-minute reset link; the same answer whether or not the address is known."""
        await _throttle(request, "forgot", data.email)
        await recovery.forgot_password(data.email, client_ip(request))
        return PendingOut("sent_if_known", data.email.lower())

    @post("/password/reset", opt=PUBLIC, status_code=204)
    async def reset_password(self, request: Request, data: ResetIn) -> None:
        """Set a new password with a reset link; every session of the account ends."""
        await _throttle(request, "reset", None)
        await recovery.reset_password(data.token, data.password, client_ip(request))

    @post("/invitations/accept", opt=PUBLIC, status_code=201)
    async def accept_invitation(self, request: Request, data: AcceptIn) -> Response[LoginOut]:
        """Use an invitation link: a verified account in the inviting workspace, signed in."""
        await _throttle(request, "accept", None)
        user = await recovery.accept_invitation(data.token, data.full_name, data.password, client_ip(request))
        response = await session_response(request, user)
        response.status_code = 201
        return response

    @post("/logout", guards=[requires_authenticated], status_code=204)
    async def logout(
        self, request: Request, me: Principal, data: Annotated[RefreshIn | None, Body()] = None
    ) -> Response[None]:
        """Revoke the session's refresh tokens and clear the cookie."""
        token = (data.refresh_token if data else None) or request.cookies.get(COOKIE)
        await service.logout(me.id, me.tenant_id, token)
        return Response(None, status_code=204, cookies=[_refresh_cookie(request, "", 0)])


@get("/me", guards=[requires_authenticated], tags=["auth"])
async def me(me: Principal) -> MeOut:
    """Who am I: user, tenant, role and partner (for partner admins)."""
    user, tenant, partner = await service.me(me.id, me.tenant_id)
    return MeOut(
        user=msgspec.convert(user, UserOut),
        tenant=msgspec.convert(tenant, TenantOut),
        role=me.role,
        partner=_partner_out(partner),
    )


def _partner_out(row: dict | None) -> PartnerOut | None:
    if row is None:
        return None
    return PartnerOut(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        commission_pct=str(row["commission_pct"]),
        commission_basis=row["commission_basis"],
    )


class OidcController(Controller):
    """Sign-in with Google, Microsoft or another OpenID provider (web/auth/oidc.py)."""

    path = "/auth/oidc"
    tags = ["auth"]

    @get("/providers", opt=PUBLIC)
    async def providers(self) -> list[OidcProviderOut]:
        """The providers the login page offers a button for."""
        return msgspec.convert(await oidc.enabled_providers(), list[OidcProviderOut])

    @get("/{provider:str}/start", opt=PUBLIC, status_code=302)
    async def start(self, request: Request, provider: str) -> Redirect:
        """Send the browser to the provider (state, nonce, PKCE); the state also in a cookie."""
        url, state = await oidc.start(provider)
        cookie = Cookie(
            key=oidc.STATE_COOKIE,
            value=state,
            max_age=int(oidc.LOGIN_TTL.total_seconds()),
            path="/api/v1/auth/oidc",
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back to us
            secure=request.app.state.settings.http.secure_cookies,
        )
        return Redirect(url, status_code=302, cookies=[cookie])

    @get("/{provider:str}/callback", opt=PUBLIC, status_code=302)
    async def callback(
        self,
        request: Request,
        provider: str,
        code: Annotated[str | None, Parameter(max_length=2000)] = None,
        oidc_state: Annotated[str | None, Parameter(query="state", max_length=200)] = None,
        error: Annotated[str | None, Parameter(max_length=200)] = None,
        iss: Annotated[str | None, Parameter(max_length=500)] = None,
    ) -> Redirect:
        """The provider sends the browser back here: the same session as a password login
        (refresh cookie, then the console's /oidc/done), or the MFA step, or the page that
        asks for the password of the local account with this email."""
        if error is not None or not code or not oidc_state:
            raise CodedError(
                ErrorCode.OIDC_FAILED, f"The provider did not sign you in ({error or 'no code'}).", 400
            )
        outcome = await oidc.finish(
            provider, code, oidc_state, request.cookies.get(oidc.STATE_COOKIE), iss, client_ip(request)
        )
        console = request.app.state.settings.http.public_url
        gone = Cookie(key=oidc.STATE_COOKIE, value="", max_age=0, path="/api/v1/auth/oidc")
        if outcome.link_token is not None:
            target = f"{console}/link-account#token={outcome.link_token}&provider={provider}"
            return Redirect(target, status_code=302, cookies=[gone])
        assert outcome.user is not None
        kind, factors = await mfa.pending(outcome.user)
        if kind is not None:
            challenge = mfa.issue_challenge(outcome.user, kind)
            target = f"{console}/login#mfa_token={challenge}&kind={kind}&factors={','.join(factors)}"
            return Redirect(target, status_code=302, cookies=[gone])
        _, cookie = await new_session(request, outcome.user)
        return Redirect(f"{console}/oidc/done", status_code=302, cookies=[gone, cookie])

    @post("/link", opt=PUBLIC, status_code=200)
    async def link(self, request: Request, data: LinkIn) -> Response[LoginOut | MfaChallengeOut]:
        """Prove the password of the local account with the provider's email to link them."""
        await _throttle(request, "link", None)
        user = await oidc.link(data.token, data.password, client_ip(request))
        return await login_answer(request, user)
