//! Payload sizes: Lambda's request limits ([`crate::limits::SYNC_PAYLOAD_LIMIT`],
//! [`crate::limits::ASYNC_PAYLOAD_LIMIT`]) measured without serializing to a string.

use serde_json::Value;

use crate::error::{Error, Result};

/// The serialized size of a JSON value, without building the string.
pub(crate) fn json_size(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match v {
        Value::Null => 4,
        _ => {
            let mut c = Count(0);
            // Writing a Value to an infallible writer cannot fail.
            let _ = serde_json::to_writer(&mut c, v);
            c.0
        }
    }
}

/// Refuses an event whose serialized size is over `limit`: [`Error::RequestTooLarge`] for `operation`
/// (`Invoke` or `InvokeAsync`).
pub(crate) fn check_request_size(
    function: &str,
    event: &Value,
    limit: usize,
    operation: &'static str,
) -> Result<()> {
    let size = json_size(event);
    if size > limit {
        return Err(Error::RequestTooLarge {
            function: function.to_owned(),
            size,
            limit,
            operation,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_size_matches_serialization() {
        for v in [
            json!(null),
            json!(1),
            json!("h\u{e9}llo\n"),
            json!({"a": [1, 2, {"b": null}]}),
        ] {
            assert_eq!(json_size(&v), serde_json::to_vec(&v).unwrap().len(), "{v}");
        }
    }
}
