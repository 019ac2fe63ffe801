//! Signed, expiring tokens for authenticating a socket, modelled on Phoenix.Token.
//!
//! A server signs a small piece of data (a user id) when it renders a page; the page
//! hands the token back as the `token` param of the socket's `connect`; the socket
//! verifies it and knows who is connecting without a session lookup. The token is
//! signed, not encrypted: anyone holding it can read the data, nobody can change it.
//!
//! # Format
//!
//! `SFMyNTY.<payload>.<signature>`, every part base64url without padding:
//!
//! - `SFMyNTY` is base64 of `HS256`, the algorithm label Phoenix uses;
//! - the payload is JSON `{"data": ..., "signed_at_ms": ..., "max_age": ...}`
//!   (`signed_at_ms` in Unix milliseconds, `max_age` in seconds);
//! - the signature is HMAC-SHA256 over `SFMyNTY.<payload>` with a key derived by
//!   PBKDF2-HMAC-SHA256 from the secret key base and a salt (1000 iterations, 32 bytes),
//!   the same derivation Phoenix uses.
//!
//! Phoenix encodes the payload in Erlang's term format; this port uses JSON, so the
//! rules and the layout are the same but tokens are **not** interchangeable with an
//! Elixir server's (an Elixir verifier would reject ours as invalid, and ours theirs).
//!
//! # Verification rules
//!
//! [`TokenSigner::verify`] returns the data or one of three distinct errors:
//! no token (`None`) is [`TokenError::Missing`]; an empty string, a malformed token, a
//! token longer than [`MAX_TOKEN_LEN`] or a bad signature is
//! [`TokenError::Invalid`]; a token signed later than "now" is `Invalid` too (a clock
//! can't legitimately produce it); a `max_age` of zero or less, or
//! `signed_at_ms + max_age * 1000 < now`, is [`TokenError::Expired`]. A `max_age` given
//! at verify time overrides the one in the token. The signature comparison is
//! constant-time, so response timing leaks nothing about how close a forgery came.
//!
//! # Time
//!
//! [`TokenSigner::sign`] and [`TokenSigner::verify`] read the wall clock;
//! [`TokenSigner::sign_at`] and [`TokenSigner::verify_at`] take the time as Unix
//! milliseconds. Tokio's paused time never moves the wall clock, so a test that signs
//! every 5 s of paused time gets the same `signed_at_ms` (and the same token) each time
//! unless it passes its own time to `sign_at`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Base64 of `HS256`: the token's first part, naming the algorithm.
pub const PREFIX: &str = "SFMyNTY";
/// How long a token lives unless the signer says otherwise: one day, in seconds.
pub const DEFAULT_MAX_AGE_SECS: i64 = 86_400;
/// The shortest secret key base accepted, in bytes.
pub const MIN_SECRET_KEY_BASE_LEN: usize = 20;
/// Tokens longer than this are rejected as invalid before any decoding or hashing, so
/// a hostile client can't make the server hash megabytes per `connect`.
pub const MAX_TOKEN_LEN: usize = 4096;
/// PBKDF2 iterations for the key derivation (Phoenix's default).
pub const KEY_ITERATIONS: u32 = 1000;
/// Length of the derived key in bytes.
pub const KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused. The three cases are distinct so the server can log them
/// apart ("expired" is routine, "invalid" may be an attack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TokenError {
    /// No token was given.
    #[error("no token was given")]
    Missing,
    /// The token is malformed, was tampered with, was signed with another key or salt,
    /// or claims to be signed in the future.
    #[error("the token is invalid")]
    Invalid,
    /// The token was genuine but is too old.
    #[error("the token has expired")]
    Expired,
}

impl TokenError {
    /// `"missing"`, `"invalid"` or `"expired"`: a stable name for logs and replies.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenError::Missing => "missing",
            TokenError::Invalid => "invalid",
            TokenError::Expired => "expired",
        }
    }
}

/// The secret key base was shorter than [`MIN_SECRET_KEY_BASE_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the secret key base must be at least {MIN_SECRET_KEY_BASE_LEN} bytes, got {0}")]
pub struct SecretTooShort(pub usize);

/// How old a token may be when verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxAge {
    /// At most this many seconds (zero or less: every token is expired).
    Seconds(i64),
    /// No age limit (the signature and the "not from the future" rule still apply).
    Infinity,
}

/// What the payload holds; `data` stays raw JSON until the signature has been checked.
#[derive(Serialize)]
struct Claims<'a, T: ?Sized> {
    data: &'a T,
    signed_at_ms: i64,
    max_age: i64,
}

#[derive(Deserialize)]
struct ReadClaims {
    data: serde_json::Value,
    signed_at_ms: i64,
    max_age: i64,
}

// ANCHOR: signer
/// Signs and verifies tokens for one secret key base and one salt.
///
/// Deriving the key (PBKDF2, 1000 rounds) is deliberately slow, so it happens once, in
/// [`TokenSigner::new`]; keep the signer (it is cheap to clone) rather than building
/// one per request. The salt separates purposes: a token signed for `"user socket"`
/// does not verify for `"password reset"`.
#[derive(Clone)]
pub struct TokenSigner {
    key: [u8; KEY_LEN],
}
// ANCHOR_END: signer

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material, even in a debug log.
        f.debug_struct("TokenSigner").finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer for `salt`, keyed from `secret_key_base` (at least 20 bytes; use 64
    /// random bytes in production and keep them out of the repository).
    pub fn new(
        secret_key_base: impl AsRef<[u8]>,
        salt: impl AsRef<[u8]>,
    ) -> Result<Self, SecretTooShort> {
        let secret = secret_key_base.as_ref();
        if secret.len() < MIN_SECRET_KEY_BASE_LEN {
            return Err(SecretTooShort(secret.len()));
        }
        let mut key = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(secret, salt.as_ref(), KEY_ITERATIONS, &mut key);
        Ok(Self { key })
    }

    /// Signs `data` now, valid for [`DEFAULT_MAX_AGE_SECS`].
    ///
    /// Fails only if `data` can't be serialized as JSON (a map with non-string keys).
    pub fn sign<T: Serialize + ?Sized>(&self, data: &T) -> Result<String, serde_json::Error> {
        self.sign_at(data, now_ms(), DEFAULT_MAX_AGE_SECS)
    }

    // ANCHOR: sign_at
    /// Signs `data` as if at `signed_at_ms` (Unix milliseconds), valid for `max_age_secs`.
    pub fn sign_at<T: Serialize + ?Sized>(
        &self,
        data: &T,
        signed_at_ms: i64,
        max_age_secs: i64,
    ) -> Result<String, serde_json::Error> {
        let claims = Claims {
            data,
            signed_at_ms,
            max_age: max_age_secs,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
        let signed = format!("{PREFIX}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        Ok(format!("{signed}.{signature}"))
    }
    // ANCHOR_END: sign_at

    /// Verifies `token` now, with the max age embedded in it.
    pub fn verify<T: DeserializeOwned>(&self, token: Option<&str>) -> Result<T, TokenError> {
        self.verify_at(token, now_ms(), None)
    }

    // ANCHOR: verify_at
    /// Verifies `token` as if at `now_ms` (Unix milliseconds). `max_age`, when given,
    /// overrides the max age embedded in the token.
    pub fn verify_at<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        now_ms: i64,
        max_age: Option<MaxAge>,
    ) -> Result<T, TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let payload = signed
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or(TokenError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Invalid)?;
        // `verify_slice` compares in constant time.
        self.mac(signed)
            .verify_slice(&signature)
            .map_err(|_| TokenError::Invalid)?;

        // Only now, with the signature checked, is the payload worth parsing.
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Invalid)?;
        let claims: ReadClaims = serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)?;
        let max_age = max_age.unwrap_or(MaxAge::Seconds(claims.max_age));
        if matches!(max_age, MaxAge::Seconds(secs) if secs <= 0) {
            return Err(TokenError::Expired);
        }
        if claims.signed_at_ms > now_ms {
            return Err(TokenError::Invalid);
        }
        if let MaxAge::Seconds(secs) = max_age {
            // i128: a huge max_age must not overflow into "already expired".
            let expires_at = i128::from(claims.signed_at_ms) + i128::from(secs) * 1000;
            if expires_at < i128::from(now_ms) {
                return Err(TokenError::Expired);
            }
        }
        serde_json::from_value(claims.data).map_err(|_| TokenError::Invalid)
    }
    // ANCHOR_END: verify_at

    fn mac(&self, signed: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(signed.as_bytes());
        mac
    }
}

/// The wall clock in Unix milliseconds (what [`TokenSigner::sign`] stamps).
pub fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
