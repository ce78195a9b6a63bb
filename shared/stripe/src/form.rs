//! Stripe's request bodies: `application/x-www-form-urlencoded`, with nested
//! fields written as `metadata[order_id]=…` and `line_items[0][quantity]=1`.

/// A request body under construction, in the order fields are added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name=value`; `name` is already in bracket form when nested.
    pub fn field(mut self, name: &str, value: impl ToString) -> Self {
        self.fields.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds `metadata[key]=value` for each pair.
    pub fn metadata<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        for (key, value) in pairs {
            self.fields.push((format!("metadata[{key}]"), value));
        }
        self
    }

    pub fn encode(&self) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.fields {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }

    /// The value given for `name`, for tests and fakes that read requests back.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// Reads an encoded body back into its fields.
    pub fn decode(body: &str) -> Self {
        Self {
            fields: form_urlencoded::parse(body.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_are_percent_encoded_and_read_back() {
        let form = Form::new()
            .field("amount", 4495)
            .field(
                "line_items[0][price_data][product_data][name]",
                "Order 01J & co",
            )
            .metadata([("order_id", "01J".to_owned())]);
        let encoded = form.encode();
        assert_eq!(
            encoded,
            "amount=4495&line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Order+01J+%26+co&metadata%5Border_id%5D=01J"
        );
        assert_eq!(Form::decode(&encoded), form);
        assert_eq!(form.value("metadata[order_id]"), Some("01J"));
    }
}
