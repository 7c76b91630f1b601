//! Input parsed at the edge into types that cannot hold invalid values.

use inventory_common::ApiError;

/// 3–64 characters of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let len = raw.chars().count();
        if !(3..=64).contains(&len) {
            return Err(ApiError::field("username", "must be 3 to 64 characters"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ApiError::field(
                "username",
                "may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8–72 bytes (bcrypt ignores anything past 72).
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, ApiError> {
        if raw.len() < 8 {
            return Err(ApiError::field("password", "must be at least 8 bytes"));
        }
        if raw.len() > 72 {
            return Err(ApiError::field("password", "must be at most 72 bytes"));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("al").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse("élan").is_err());
        assert!(Username::parse("jane.doe-1_x").is_ok());
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(73)).is_err());
        assert!(Password::parse("x".repeat(72)).is_ok());
        // 24 three-byte characters are 72 bytes; 25 are too many.
        assert!(Password::parse("€".repeat(25)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret123".into()).ok()),
            "Some(Password(***))"
        );
    }
}
