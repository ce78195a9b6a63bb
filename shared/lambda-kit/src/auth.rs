//! Who is calling, read only from the JWT authorizer's claims in the request
//! context. Handlers never parse tokens.

use crate::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use shopflow_domain::CustomerId;

pub const ADMIN: &str = "admin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub customer_id: CustomerId,
    pub is_admin: bool,
}

impl Caller {
    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return Err(ApiError::unauthenticated());
        };
        let jwt = context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .ok_or_else(ApiError::unauthenticated)?;
        let sub = jwt
            .claims
            .get("sub")
            .ok_or_else(ApiError::unauthenticated)?;
        let customer_id = CustomerId::parse(sub).map_err(|_| ApiError::unauthenticated())?;
        let in_claim = |name: &str| {
            jwt.claims.get(name).is_some_and(|value| {
                // "scope" is space-separated; "cognito:groups" arrives as "[admin staff]".
                value
                    .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ','))
                    .any(|v| v == ADMIN)
            })
        };
        let in_scopes = jwt
            .scopes
            .as_ref()
            .is_some_and(|scopes| scopes.iter().any(|s| s == ADMIN));
        let is_admin = in_scopes || in_claim("scope") || in_claim("cognito:groups");
        Ok(Self {
            customer_id,
            is_admin,
        })
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Whether the caller may see a resource owned by `owner`. Callers who
    /// may not get `404`, never `403`, so existence is not revealed.
    pub fn may_see(&self, owner: &CustomerId) -> bool {
        self.is_admin || &self.customer_id == owner
    }
}
