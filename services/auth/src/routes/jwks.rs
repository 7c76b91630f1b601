use actix_web::{HttpResponse, web};

use crate::state::AuthState;

/// Public keys that verify access tokens.
///
/// `GET /auth/jwks.json`: the public keys that verify access tokens.
#[utoipa::path(get, path = "/auth/jwks.json", operation_id = "auth_jwks", tag = "auth", security(()),
    responses((status = 200, description = "A JSON Web Key Set of Ed25519 (OKP) keys", body = Object)))]
pub async fn jwks(state: web::Data<AuthState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(serde_json::json!({ "keys": [state.signer.public.jwk()] }))
}
