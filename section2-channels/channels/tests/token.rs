//! The Phoenix.Token-like signer: the rules of `verify`, and properties over many inputs.
//!
//! Time is always passed in (`sign_at`/`verify_at`), so nothing here sleeps or depends
//! on the wall clock.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use channels::token::{
    DEFAULT_MAX_AGE_SECS, MAX_TOKEN_LEN, MaxAge, SecretTooShort, TokenError, TokenSigner, now_ms,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

const SECRET: &str = "a-course-secret-key-base-that-is-long-enough-for-tests";
const SALT: &str = "user socket";
/// 2026-01-05 09:00:00 UTC in Unix milliseconds.
const T0: i64 = 1_767_603_600_000;
const DAY_MS: i64 = DEFAULT_MAX_AGE_SECS * 1000;

/// One signer for the whole file: deriving its key (PBKDF2) once, as a server would.
fn signer() -> &'static TokenSigner {
    static SIGNER: LazyLock<TokenSigner> =
        LazyLock::new(|| TokenSigner::new(SECRET, SALT).unwrap());
    &SIGNER
}

fn user_token(user_id: u64) -> String {
    signer()
        .sign_at(&user_id, T0, DEFAULT_MAX_AGE_SECS)
        .unwrap()
}

#[test]
fn matches_an_independent_implementation() {
    // Computed with Python's hashlib.pbkdf2_hmac and hmac (same secret, salt, payload):
    // the key derivation, layout and MAC are the documented ones, byte for byte.
    let expected = "SFMyNTY.eyJkYXRhIjo0Miwic2lnbmVkX2F0X21zIjoxNzY3NjAzNjAwMDAwLCJtYXhfYWdlIjo4NjQwMH0.Yj77XJG5ElqqEEiJcF_Ban44WL2IIImeXbMCUSAiD3o";
    assert_eq!(user_token(42), expected);
}

#[test]
fn the_payload_is_readable_json_but_not_forgeable() {
    let token = user_token(42);
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "prefix.payload.signature");
    assert_eq!(parts[0], "SFMyNTY");
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"data": 42, "signed_at_ms": T0, "max_age": 86_400})
    );

    // Re-encode the payload with another user id, keep the signature: refused.
    let forged_payload =
        URL_SAFE_NO_PAD.encode(br#"{"data":1,"signed_at_ms":1767603600000,"max_age":86400}"#);
    let forged = format!("SFMyNTY.{forged_payload}.{}", parts[2]);
    assert_eq!(
        signer().verify_at::<u64>(Some(&forged), T0, None),
        Err(TokenError::Invalid)
    );
}

#[test]
fn a_token_verifies_for_its_whole_max_age_and_then_expires() {
    let token = user_token(7);
    let s = signer();
    assert_eq!(s.verify_at::<u64>(Some(&token), T0, None), Ok(7));
    assert_eq!(s.verify_at::<u64>(Some(&token), T0 + DAY_MS, None), Ok(7));
    assert_eq!(
        s.verify_at::<u64>(Some(&token), T0 + DAY_MS + 1, None),
        Err(TokenError::Expired),
        "one millisecond past a day, the default max age"
    );
}

#[test]
fn missing_invalid_and_expired_are_distinct() {
    let s = signer();
    assert_eq!(s.verify_at::<u64>(None, T0, None), Err(TokenError::Missing));
    for garbage in [
        "",
        "SFMyNTY",
        "SFMyNTY..",
        "SFMyNTY.abc",
        "not-a-token",
        "SFMzODQ.eyJ9.c2ln",
    ] {
        assert_eq!(
            s.verify_at::<u64>(Some(garbage), T0, None),
            Err(TokenError::Invalid),
            "{garbage:?} must be invalid"
        );
    }
    let expired = s.sign_at(&7u64, T0, 60).unwrap();
    assert_eq!(
        s.verify_at::<u64>(Some(&expired), T0 + 61_000, None),
        Err(TokenError::Expired)
    );
    assert_eq!(TokenError::Missing.as_str(), "missing");
    assert_eq!(TokenError::Invalid.as_str(), "invalid");
    assert_eq!(TokenError::Expired.as_str(), "expired");
}

#[test]
fn a_token_signed_in_the_future_is_invalid() {
    let s = signer();
    let token = s.sign_at(&7u64, T0 + 1, DEFAULT_MAX_AGE_SECS).unwrap();
    assert_eq!(
        s.verify_at::<u64>(Some(&token), T0, None),
        Err(TokenError::Invalid)
    );
    assert_eq!(
        s.verify_at::<u64>(Some(&token), T0, Some(MaxAge::Infinity)),
        Err(TokenError::Invalid),
        "no max age makes a token from the future acceptable"
    );
}

#[test]
fn max_age_given_at_verify_time_overrides_the_token() {
    let s = signer();
    let token = user_token(7);
    assert_eq!(
        s.verify_at::<u64>(Some(&token), T0 + 61_000, Some(MaxAge::Seconds(60))),
        Err(TokenError::Expired),
        "a shorter max age wins"
    );
    assert_eq!(
        s.verify_at::<u64>(
            Some(&token),
            T0 + 2 * DAY_MS,
            Some(MaxAge::Seconds(3 * 86_400))
        ),
        Ok(7),
        "a longer max age wins too"
    );
    let ten_years = T0 + 3650 * DAY_MS;
    assert_eq!(
        s.verify_at::<u64>(Some(&token), ten_years, Some(MaxAge::Infinity)),
        Ok(7)
    );
    assert_eq!(
        s.verify_at::<u64>(Some(&token), T0, Some(MaxAge::Seconds(i64::MAX))),
        Ok(7),
        "a huge max age must not overflow into expired"
    );
}

#[test]
fn a_max_age_of_zero_or_less_is_always_expired() {
    let s = signer();
    for max_age in [0, -1, i64::MIN] {
        let token = s.sign_at(&7u64, T0, max_age).unwrap();
        assert_eq!(
            s.verify_at::<u64>(Some(&token), T0, None),
            Err(TokenError::Expired),
            "embedded max_age {max_age}"
        );
        assert_eq!(
            s.verify_at::<u64>(Some(&user_token(7)), T0, Some(MaxAge::Seconds(max_age))),
            Err(TokenError::Expired),
            "override max_age {max_age}"
        );
    }
}

#[test]
fn another_salt_or_secret_does_not_verify() {
    let token = user_token(7);
    let other_salt = TokenSigner::new(SECRET, "password reset").unwrap();
    let other_secret = TokenSigner::new("another-secret-key-base-of-enough-length", SALT).unwrap();
    for s in [&other_salt, &other_secret] {
        assert_eq!(
            s.verify_at::<u64>(Some(&token), T0, None),
            Err(TokenError::Invalid)
        );
    }
}

#[test]
fn data_of_another_shape_is_invalid() {
    let token = signer()
        .sign_at("not a number", T0, DEFAULT_MAX_AGE_SECS)
        .unwrap();
    assert_eq!(
        signer().verify_at::<u64>(Some(&token), T0, None),
        Err(TokenError::Invalid)
    );
}

#[test]
fn structured_data_round_trips() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Claims {
        user_id: u64,
        name: String,
        roles: Vec<String>,
    }
    let claims = Claims {
        user_id: 12,
        name: "Grace H.".into(),
        roles: vec!["admin".into()],
    };
    let s = signer();
    let token = s.sign(&claims).unwrap();
    assert_eq!(s.verify::<Claims>(Some(&token)), Ok(claims));
}

#[test]
fn tokens_signed_moments_apart_differ_and_all_verify() {
    // What a token-refreshing channel relies on: each new token is fresh and valid.
    let s = signer();
    let tokens: Vec<String> = (0..4)
        .map(|i| s.sign_at(&7u64, T0 + i * 5_000, 60).unwrap())
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(s.verify_at::<u64>(Some(token), T0 + 20_000, None), Ok(7));
        assert!(
            !tokens[..i].contains(token),
            "token {i} repeats an earlier one"
        );
    }
}

#[test]
fn oversized_tokens_are_refused_before_any_work() {
    let huge = format!("SFMyNTY.{}.sig", "A".repeat(MAX_TOKEN_LEN));
    assert_eq!(
        signer().verify_at::<u64>(Some(&huge), T0, None),
        Err(TokenError::Invalid)
    );
}

#[test]
fn the_secret_key_base_must_be_long_enough() {
    assert_eq!(
        TokenSigner::new([0u8; 19], SALT).unwrap_err(),
        SecretTooShort(19)
    );
    assert!(TokenSigner::new([0u8; 20], SALT).is_ok());
}

#[test]
fn debug_output_hides_the_key() {
    let shown = format!("{:?}", signer());
    assert_eq!(shown, "TokenSigner { .. }");
}

#[test]
fn sign_and_verify_use_the_wall_clock() {
    let s = signer();
    let before = now_ms();
    let token = s.sign(&7u64).unwrap();
    assert_eq!(s.verify::<u64>(Some(&token)), Ok(7));
    let signed_at = serde_json::from_slice::<serde_json::Value>(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()["signed_at_ms"]
        .as_i64()
        .unwrap();
    assert!(signed_at >= before && signed_at <= now_ms());
}

/// Characters a tampered token may contain: the whole base64url alphabet, the separator,
/// padding, and a few that never appear in a token.
const TAMPER_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_data_round_trips(
        user_id in any::<u64>(),
        name in ".{0,40}",
        signed_at in 0i64..4_000_000_000_000,
        max_age in 1i64..10_000_000,
        elapsed_fraction in 0.0f64..=1.0,
    ) {
        let s = signer();
        let data = (user_id, name);
        let token = s.sign_at(&data, signed_at, max_age).unwrap();
        let now = signed_at + ((max_age * 1000) as f64 * elapsed_fraction) as i64;
        prop_assert_eq!(s.verify_at::<(u64, String)>(Some(&token), now, None), Ok(data));
    }

    #[test]
    fn changing_any_one_character_makes_the_token_invalid(
        user_id in any::<u64>(),
        position in any::<prop::sample::Index>(),
        replacement in prop::sample::select(TAMPER_CHARS.chars().collect::<Vec<_>>()),
    ) {
        let s = signer();
        let token = s.sign_at(&user_id, T0, DEFAULT_MAX_AGE_SECS).unwrap();
        let i = position.index(token.len());
        let original = token.as_bytes()[i] as char;
        prop_assume!(original != replacement);
        let mut tampered = String::with_capacity(token.len() + 1);
        tampered.push_str(&token[..i]);
        tampered.push(replacement);
        tampered.push_str(&token[i + 1..]);
        prop_assert_eq!(
            s.verify_at::<u64>(Some(&tampered), T0, None),
            Err(TokenError::Invalid),
            "position {} changed from {:?} to {:?}", i, original, replacement
        );
    }

    #[test]
    fn truncating_or_extending_makes_the_token_invalid(
        user_id in any::<u64>(),
        cut in 1usize..20,
        extra in "[A-Za-z0-9_-]{1,4}",
    ) {
        let s = signer();
        let token = s.sign_at(&user_id, T0, DEFAULT_MAX_AGE_SECS).unwrap();
        let truncated = &token[..token.len() - cut];
        prop_assert_eq!(s.verify_at::<u64>(Some(truncated), T0, None), Err(TokenError::Invalid));
        let extended = format!("{token}{extra}");
        prop_assert_eq!(s.verify_at::<u64>(Some(&extended), T0, None), Err(TokenError::Invalid));
    }

    #[test]
    fn expiry_is_exact_to_the_millisecond(
        signed_at in 0i64..4_000_000_000_000,
        max_age in 1i64..1_000_000,
    ) {
        let s = signer();
        let token = s.sign_at(&1u8, signed_at, max_age).unwrap();
        let last_valid = signed_at + max_age * 1000;
        prop_assert_eq!(s.verify_at::<u8>(Some(&token), last_valid, None), Ok(1));
        prop_assert_eq!(
            s.verify_at::<u8>(Some(&token), last_valid + 1, None),
            Err(TokenError::Expired)
        );
        prop_assert_eq!(
            s.verify_at::<u8>(Some(&token), signed_at - 1, None),
            Err(TokenError::Invalid)
        );
    }
}
