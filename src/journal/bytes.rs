//! Byte strings (paths, argv) in JSON, losslessly: valid UTF-8 is written as
//! a plain string; anything else as `{"hex": "<lowercase hex of the bytes>"}`.

use serde_json::Value;

/// The JSON form of a byte string.
pub fn encode_bytes(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => {
            let mut hex = String::with_capacity(b.len() * 2);
            for byte in b {
                hex.push_str(&format!("{byte:02x}"));
            }
            serde_json::json!({ "hex": hex })
        }
    }
}

/// The bytes a JSON byte string stands for, `None` if it is not one.
pub fn decode_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(o) => {
            let hex = o.get("hex")?.as_str()?;
            if hex.len() % 2 != 0 {
                return None;
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect()
        }
        _ => None,
    }
}
