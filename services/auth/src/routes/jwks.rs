use actix_web::{HttpResponse, web};

use crate::startup::AuthState;

/// `GET /auth/jwks.json`: the public keys that verify access tokens.
pub async fn jwks(state: web::Data<AuthState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(serde_json::json!({ "keys": [state.signer.public.jwk()] }))
}
