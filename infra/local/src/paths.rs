//! Path templates as API Gateway routes write them (`/v1/orders/{id}`),
//! matched against request paths: by the router, the mock's customer-side
//! routes and the seeder alike.

use std::collections::BTreeMap;

/// Matches `/v1/orders/abc` against `/v1/orders/{id}`, returning the parameters.
pub fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let wanted: Vec<&str> = template.trim_matches('/').split('/').collect();
    let given: Vec<&str> = path.trim_matches('/').split('/').collect();
    if wanted.len() != given.len() {
        return None;
    }
    let mut parameters = BTreeMap::new();
    for (want, got) in wanted.iter().zip(&given) {
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) if !got.is_empty() => {
                parameters.insert(name.to_owned(), (*got).to_owned());
            }
            Some(_) => return None,
            None if want == got => {}
            None => return None,
        }
    }
    Some(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_capture_their_parameters() {
        let params = match_path(
            "/v1/inventory/{sku}/{warehouse}/restock",
            "/v1/inventory/TEE/BER/restock",
        )
        .unwrap();
        assert_eq!(params["sku"], "TEE");
        assert_eq!(params["warehouse"], "BER");
        assert!(match_path("/v1/orders/{id}", "/v1/orders").is_none());
        assert!(match_path("/v1/orders", "/v1/orders/x").is_none());
        assert!(match_path("/v1/orders/{id}", "/v1/orders/").is_none());
    }
}
