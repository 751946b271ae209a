//! Bearer API keys with an optional role: `OMS_API_KEYS="adminkey,storefront:sfkey,warehouse:whkey,finance:fikey"`.
//! A key without a role prefix may call everything.

use axum::http::{HeaderMap, StatusCode};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Storefront,
    Warehouse,
    /// Bank statements, dunning, receivables.
    Finance,
}

#[derive(Debug, Clone, Default)]
pub struct ApiKeys(Vec<(Role, String)>);

impl ApiKeys {
    pub fn parse(list: &str) -> Self {
        let keys = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|entry| match entry.split_once(':') {
                Some(("storefront", k)) => (Role::Storefront, k.to_string()),
                Some(("warehouse", k)) => (Role::Warehouse, k.to_string()),
                Some(("admin", k)) => (Role::Admin, k.to_string()),
                Some(("finance", k)) => (Role::Finance, k.to_string()),
                _ => (Role::Admin, entry.to_string()),
            })
            .collect();
        ApiKeys(keys)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The role of `key`, comparing in constant time so response timing
    /// tells nothing about how much of a guess was right.
    fn role_of(&self, key: &str) -> Option<Role> {
        let mut found = None;
        for (role, k) in &self.0 {
            if constant_time_eq(k.as_bytes(), key.as_bytes()) {
                found = Some(*role);
            }
        }
        found
    }

    /// Checks the `Authorization: Bearer` header against the roles a route allows.
    pub fn authorize(&self, headers: &HeaderMap, allowed: &[Role]) -> Result<Role, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <key> header"))?;
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("Authorization must be `Bearer <key>`"))?;
        let role = self
            .role_of(key.trim())
            .ok_or_else(|| unauthorized("unknown API key"))?;
        if role == Role::Admin || allowed.contains(&role) {
            Ok(role)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("a {role:?} key may not call this route").to_lowercase(),
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_prefixes() {
        let keys = ApiKeys::parse("a1, storefront:s1,warehouse:w1,,");
        assert_eq!(keys.role_of("a1"), Some(Role::Admin));
        assert_eq!(keys.role_of("s1"), Some(Role::Storefront));
        assert_eq!(keys.role_of("w1"), Some(Role::Warehouse));
        assert_eq!(keys.role_of("storefront:s1"), None);
        assert_eq!(keys.role_of(""), None);
    }
}
