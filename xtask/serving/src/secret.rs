//! Secrets come from the environment; without one, a random one for this run.
//!
//! A signing secret written in the source signs tokens for anyone who reads the
//! source, so there is no constant fallback. When the variable is unset the process
//! makes up a random secret and says so loudly: everything works on a laptop, and
//! nothing signed with it is worth anything after a restart, or on another node.

use std::fmt;

use rand::TryRngCore;

/// The signing secret of the channels' user tokens (`/auth_socket`, section 2).
pub const TOKEN_SECRET_ENV: &str = "COURSE_TOKEN_SECRET";
/// The signing secret of the live views' session tokens (section 4).
pub const LIVE_SECRET_ENV: &str = "COURSE_LIVE_SECRET";

/// Random bytes in a generated secret: as many as Phoenix's `mix phx.gen.secret`.
const GENERATED_BYTES: usize = 64;

/// A secret's value, and whether it came from the environment. Its `Debug` does not
/// show the value, so a secret logged by mistake stays secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    generated: bool,
}

impl Secret {
    /// The secret in the environment variable `var`, or a random one, announced with a
    /// warning naming `var` and what a generated secret costs.
    ///
    /// Binaries call it; tests and libraries take a [`Secret`] (or the key itself)
    /// from their caller, so nothing they do depends on the environment.
    pub fn from_env(var: &str) -> Secret {
        let secret = Secret::from_value(std::env::var(var).ok());
        if secret.generated {
            tracing::warn!(
                "{var} is not set: signing with a development secret generated for this run. \
                 What is signed now stops verifying when the process restarts, and other \
                 nodes cannot verify it. To deploy, set {var} to at least 64 random bytes \
                 (`openssl rand -base64 64`), the same on every node."
            );
        }
        secret
    }

    /// `value` if there is one and it is not blank, a generated secret otherwise.
    pub fn from_value(value: Option<String>) -> Secret {
        match value {
            Some(value) if !value.trim().is_empty() => Secret {
                value,
                generated: false,
            },
            _ => Secret::generate(),
        }
    }

    /// A fresh random secret, from the operating system's random source: 64 bytes,
    /// hex-encoded (128 characters).
    pub fn generate() -> Secret {
        let mut bytes = [0u8; GENERATED_BYTES];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random source is readable");
        Secret {
            value: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            generated: true,
        }
    }

    /// The value, for the signer that needs it. Never log it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether it was made up for this run (the variable was unset).
    pub fn is_generated(&self) -> bool {
        self.generated
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("value", &"<redacted>")
            .field("generated", &self.generated)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_from_the_environment_is_used_as_is() {
        let secret = Secret::from_value(Some("a deployment secret of enough length".into()));
        assert_eq!(secret.expose(), "a deployment secret of enough length");
        assert!(!secret.is_generated());
    }

    #[test]
    fn an_unset_or_blank_variable_gets_a_fresh_random_secret() {
        let unset = Secret::from_value(None);
        let blank = Secret::from_value(Some("  ".into()));
        for secret in [&unset, &blank] {
            assert!(secret.is_generated());
            assert_eq!(secret.expose().len(), 2 * GENERATED_BYTES);
        }
        assert_ne!(unset, blank, "two generated secrets must differ");
    }

    #[test]
    fn debug_output_hides_the_value() {
        let secret = Secret::from_value(Some("do-not-print-me-anywhere-ever".into()));
        assert!(!format!("{secret:?}").contains("do-not-print-me"));
    }
}
