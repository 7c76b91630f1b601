//! The verifier against every forged or broken token, with throwaway Ed25519 keys made by the
//! `openssl` CLI (which the local stack needs anyway).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Caller, Claims, JwtSigner, JwtVerifier, PublicKey, Role};
use crate::ApiError;

const ISS: &str = "inventory-auth";
const AUD: &str = "inventory";

/// A fresh Ed25519 key pair as PEM: (private PKCS#8, public SPKI).
fn key_pair() -> (Vec<u8>, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("inventory-auth-test-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let private = dir.join("private.pem");
    let public = dir.join("public.pem");
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .status()
            .expect("the openssl CLI is installed");
        assert!(status.success(), "openssl {args:?}");
    };
    let (private_path, public_path) = (
        private.to_str().expect("utf-8 path"),
        public.to_str().expect("utf-8 path"),
    );
    run(&["genpkey", "-algorithm", "ed25519", "-out", private_path]);
    run(&["pkey", "-in", private_path, "-pubout", "-out", public_path]);
    let pair = (
        std::fs::read(&private).expect("private key"),
        std::fs::read(&public).expect("public key"),
    );
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
    pair
}

struct Keys {
    signer: JwtSigner,
    verifier: JwtVerifier,
    public_pem: Vec<u8>,
}

fn keys() -> Keys {
    let (private, public) = key_pair();
    let signer = JwtSigner::from_pem(&private, &public, ISS, AUD).expect("signer");
    let verifier =
        JwtVerifier::new(std::slice::from_ref(&signer.public), ISS, AUD).expect("verifier");
    Keys {
        signer,
        verifier,
        public_pem: public,
    }
}

fn claims() -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: Uuid::now_v7(),
        exp: now + 900,
        iat: now,
        jti: Uuid::now_v7(),
        role: Role::Clerk,
        store_ids: vec![Uuid::now_v7()],
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Asserts a 401 whose detail mentions `why`.
fn assert_rejected(result: Result<Claims, ApiError>, why: &str) {
    match result {
        Err(ApiError::Unauthorized(detail)) => {
            assert!(detail.contains(why), "expected `{why}` in `{detail}`")
        }
        other => panic!("expected a 401 ({why}), got {other:?}"),
    }
}

#[test]
fn a_signed_token_verifies_to_its_claims() {
    let keys = keys();
    let caller = Caller {
        user_id: Uuid::now_v7(),
        role: Role::Manager,
        store_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
    };
    let token = keys.signer.sign(&caller, 900).expect("sign");

    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(keys.signer.public.kid.as_str()));

    let claims = keys.verifier.verify(&token).expect("verifies");
    assert_eq!(claims.sub, caller.user_id);
    assert_eq!(claims.role, Role::Manager);
    assert_eq!(claims.store_ids, caller.store_ids);
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISS, AUD));
    assert_eq!(claims.exp - claims.iat, 900);
}

#[test]
fn expired_tokens_are_rejected() {
    let keys = keys();
    let mut expired = claims();
    expired.exp = chrono::Utc::now().timestamp() - 60;
    let token = keys.signer.sign_claims(&expired).expect("sign");
    assert_rejected(keys.verifier.verify(&token), "expired");
}

#[test]
fn a_foreign_issuer_or_audience_is_rejected() {
    let keys = keys();
    let mut foreign = claims();
    foreign.iss = "someone-else".into();
    let token = keys.signer.sign_claims(&foreign).expect("sign");
    assert_rejected(keys.verifier.verify(&token), "wrong issuer");

    let mut other_api = claims();
    other_api.aud = "another-api".into();
    let token = keys.signer.sign_claims(&other_api).expect("sign");
    assert_rejected(keys.verifier.verify(&token), "wrong audience");
}

#[test]
fn a_key_the_verifier_does_not_know_is_rejected() {
    let ours = keys();
    let theirs = keys();
    let token = theirs.signer.sign_claims(&claims()).expect("sign");
    assert_rejected(ours.verifier.verify(&token), "unknown key id");

    // Their key under our key id: the signature does not verify.
    let (their_private, _) = key_pair();
    let impostor = JwtSigner::from_pem(&their_private, &ours.public_pem, ISS, AUD).expect("signer");
    let token = impostor.sign_claims(&claims()).expect("sign");
    assert_rejected(ours.verifier.verify(&token), "bad signature");
}

#[test]
fn a_token_without_a_key_id_is_rejected() {
    let (private, public) = key_pair();
    let verifier = JwtVerifier::new(&[PublicKey::from_pem(&public).expect("public")], ISS, AUD)
        .expect("verifier");
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims(),
        &EncodingKey::from_ed_pem(&private).expect("key"),
    )
    .expect("encode");
    assert_rejected(verifier.verify(&token), "no key id");
}

#[test]
fn alg_none_is_rejected() {
    let keys = keys();
    let claims = serde_json::to_value(claims()).expect("claims");
    for alg in ["none", "None", "NONE"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": keys.signer.public.kid });
        for token in [
            format!("{}.{}.", b64(&header), b64(&claims)),
            format!("{}.{}", b64(&header), b64(&claims)),
        ] {
            assert_rejected(keys.verifier.verify(&token), "invalid access token");
        }
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_rejected() {
    let keys = keys();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.signer.public.kid.clone());
    let raw_x = URL_SAFE_NO_PAD
        .decode(&keys.signer.public.x)
        .expect("x is base64url");
    for secret in [keys.public_pem.as_slice(), raw_x.as_slice()] {
        let token = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret))
            .expect("encode");
        assert_rejected(keys.verifier.verify(&token), "unexpected algorithm");
    }
}

#[test]
fn a_tampered_payload_is_rejected() {
    let keys = keys();
    let token = keys.signer.sign_claims(&claims()).expect("sign");
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("payload")).expect("json");
    payload["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_rejected(keys.verifier.verify(&tampered), "bad signature");

    // A signature moved onto another token's payload does not verify either.
    let other = keys.signer.sign_claims(&claims()).expect("sign");
    let spliced = format!("{}.{}", other.rsplit_once('.').expect("jwt").0, parts[2]);
    assert_rejected(keys.verifier.verify(&spliced), "bad signature");
}

#[test]
fn claims_that_are_missing_or_unexpected_are_rejected() {
    let (private, public) = key_pair();
    let public = PublicKey::from_pem(&public).expect("public");
    let verifier = JwtVerifier::new(std::slice::from_ref(&public), ISS, AUD).expect("verifier");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(public.kid.clone());
    let key = EncodingKey::from_ed_pem(&private).expect("key");
    let full = serde_json::to_value(claims()).expect("claims");
    for missing in ["exp", "iss", "aud", "sub", "role"] {
        let mut partial = full.clone();
        partial.as_object_mut().expect("object").remove(missing);
        let token = jsonwebtoken::encode(&header, &partial, &key).expect("encode");
        assert!(verifier.verify(&token).is_err(), "without {missing}");
    }
    let mut unknown_role = full.clone();
    unknown_role["role"] = json!("root");
    let token = jsonwebtoken::encode(&header, &unknown_role, &key).expect("encode");
    assert!(verifier.verify(&token).is_err(), "unknown role");
}

#[test]
fn garbage_is_rejected() {
    let keys = keys();
    let valid = keys.signer.sign_claims(&claims()).expect("sign");
    let garbage = [
        String::new(),
        "garbage".into(),
        "a.b.c".into(),
        "..".into(),
        "e30.e30.".into(),
        format!("{valid}.extra"),
        valid.replace('.', ""),
        format!("{}.!!!.{}", valid.split('.').next().unwrap(), "sig"),
    ];
    for token in garbage {
        assert!(
            matches!(keys.verifier.verify(&token), Err(ApiError::Unauthorized(_))),
            "{token:?} must be a 401"
        );
    }
}

#[test]
fn the_key_id_is_the_rfc_7638_thumbprint() {
    // RFC 8037 appendix A.2/A.3: this public key's JWK thumbprint.
    assert_eq!(
        super::keys::thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    let keys = keys();
    let jwk = keys.signer.public.jwk();
    assert_eq!(jwk["kid"], keys.signer.public.kid.as_str());
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().expect("x"))
            .expect("base64url")
            .len(),
        32
    );
}

#[test]
fn only_ed25519_public_keys_are_accepted() {
    assert!(PublicKey::from_pem(b"not a key").is_err());
    let (private, _) = key_pair();
    assert!(
        PublicKey::from_pem(&private).is_err(),
        "a private key is not a public key"
    );
    let rsa_like = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    assert!(PublicKey::from_pem(rsa_like).is_err());
}

#[test]
fn role_checks() {
    let store = Uuid::now_v7();
    let clerk = Caller {
        user_id: Uuid::now_v7(),
        role: Role::Clerk,
        store_ids: vec![store],
    };
    assert!(clerk.require_store(store).is_ok());
    assert!(matches!(
        clerk.require_store(Uuid::now_v7()),
        Err(ApiError::Forbidden(_))
    ));
    assert!(matches!(clerk.require_admin(), Err(ApiError::Forbidden(_))));
    let admin = Caller {
        role: Role::Admin,
        store_ids: vec![],
        ..clerk
    };
    assert!(admin.require_admin().is_ok());
    assert!(admin.require_store(store).is_ok());
}

#[test]
fn the_signer_pairs_its_key_with_the_matching_public_key_in_any_order() {
    let dir = std::env::temp_dir().join(format!("inventory-auth-test-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, pem: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write key");
        path.to_str().expect("utf-8 path").to_owned()
    };
    let (private, public) = key_pair();
    let (_, other_public) = key_pair();
    let private = write("private.pem", &private);
    let own = write("own.pem", &public);
    let other = write("other.pem", &other_public);

    // During a rotation the new key may be listed after the old one.
    let signer = JwtSigner::from_key_files(&private, &[other.clone(), own.clone()], ISS, AUD)
        .expect("pairs with its own public key");
    assert_eq!(
        signer.public.kid,
        PublicKey::from_pem(&public).expect("public").kid
    );
    let verifier = JwtVerifier::from_files(&[other.clone(), own], ISS, AUD).expect("verifier");
    let token = signer.sign_claims(&claims()).expect("sign");
    assert!(verifier.verify(&token).is_ok());

    // A private key that matches no configured public key is a start-up error, not bad tokens.
    let mismatch = JwtSigner::from_key_files(&private, &[other], ISS, AUD);
    assert!(matches!(mismatch, Err(super::KeyError::Format { .. })));
    assert!(JwtSigner::from_key_files(&private, &[], ISS, AUD).is_err());
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn read_scopes_follow_the_role_and_the_assignments() {
    use super::StoreScope;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let caller = |role, stores: &[Uuid]| Caller {
        user_id: Uuid::now_v7(),
        role,
        store_ids: stores.to_vec(),
    };
    let admin = caller(Role::Admin, &[]);
    assert_eq!(admin.read_scope(None).ok(), Some(StoreScope::All));
    assert_eq!(
        admin.read_scope(Some(b)).ok(),
        Some(StoreScope::Only(vec![b]))
    );

    let clerk = caller(Role::Clerk, &[a]);
    assert_eq!(clerk.read_scope(None).ok(), Some(StoreScope::Only(vec![a])));
    assert_eq!(
        clerk.read_scope(Some(a)).ok(),
        Some(StoreScope::Only(vec![a]))
    );
    assert!(matches!(
        clerk.read_scope(Some(b)),
        Err(ApiError::Forbidden(_))
    ));

    let newcomer = caller(Role::Manager, &[]);
    let scope = newcomer.read_scope(None).ok();
    assert!(
        scope.as_ref().is_some_and(StoreScope::is_empty),
        "no stores: nothing, not everything"
    );
    assert!(matches!(
        newcomer.read_scope(Some(a)),
        Err(ApiError::Forbidden(_))
    ));
}

#[test]
fn a_verified_token_is_remembered_and_checked_once() {
    let keys = keys();
    let token = keys.signer.sign_claims(&claims()).expect("sign");
    assert_eq!(keys.verifier.remembered_tokens(), 0);
    let first = keys.verifier.verify(&token).expect("verifies");
    let again = keys.verifier.verify(&token).expect("verifies again");
    assert_eq!(first.jti, again.jti);
    assert_eq!(keys.verifier.remembered_tokens(), 1);
}

#[test]
fn a_remembered_token_still_expires() {
    let keys = keys();
    let c = claims();
    let token = keys.signer.sign_claims(&c).expect("sign");
    let now = chrono::Utc::now().timestamp();
    keys.verifier.verify_at(&token, now).expect("verifies");
    assert_eq!(keys.verifier.remembered_tokens(), 1);
    // Within the leeway it is still good; past it, it is refused and forgotten.
    keys.verifier
        .verify_at(&token, c.exp + 5)
        .expect("within the leeway");
    assert_rejected(keys.verifier.verify_at(&token, c.exp + 6), "expired");
    assert_eq!(keys.verifier.remembered_tokens(), 0);
}

#[test]
fn tokens_that_fail_are_not_remembered() {
    let keys = keys();
    let token = keys.signer.sign_claims(&claims()).expect("sign");
    let (head, _) = token.rsplit_once('.').expect("three parts");
    let forged = format!("{head}.{}", URL_SAFE_NO_PAD.encode([7_u8; 64]));
    for _ in 0..3 {
        assert_rejected(keys.verifier.verify(&forged), "bad signature");
    }
    assert_eq!(keys.verifier.remembered_tokens(), 0);
}

#[test]
fn the_remembered_tokens_stay_bounded() {
    let keys = keys();
    let verifier = JwtVerifier::new(std::slice::from_ref(&keys.signer.public), ISS, AUD)
        .expect("verifier")
        .with_token_cache_capacity(8);
    for _ in 0..30 {
        let token = keys.signer.sign_claims(&claims()).expect("sign");
        verifier.verify(&token).expect("verifies");
        assert!(verifier.remembered_tokens() <= 8);
    }
    assert!(verifier.remembered_tokens() >= 1);
}
