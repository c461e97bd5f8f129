//! Client JSON is an object wherever the protocol says object (protocol 1.3, "requests are
//! strict"). serde's derived structs also accept an array of the fields in order, so
//! `["Mallory", "hi"]` would pass as a profile update; bodies and WebSocket frames are read
//! through [`JsonObject`], which takes only an object at the top.

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor, value::MapAccessDeserializer},
};

/// `T`, read only from a JSON object.
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectOnly(PhantomData))
            .map(JsonObject)
    }
}

/// Reads `T` from JSON text that must be an object.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    serde_json::from_str::<JsonObject<T>>(text).map(|JsonObject(value)| value)
}

#[cfg(test)]
mod tests {
    use natter_protocol::{ClientFrame, SignupRequest, UpdateProfileRequest};

    use super::*;

    #[test]
    fn objects_pass_and_arrays_are_refused() {
        let update: UpdateProfileRequest =
            from_str(r#"{"display_name": "Mallory", "status_text": "hi"}"#).expect("an object");
        assert_eq!(update.display_name.as_deref(), Some("Mallory"));
        assert!(serde_json::from_str::<UpdateProfileRequest>(r#"["Mallory","hi"]"#).is_ok());
        let refused = from_str::<UpdateProfileRequest>(r#"["Mallory","hi"]"#).unwrap_err();
        assert!(refused.to_string().contains("a JSON object"), "{refused}");
        assert!(from_str::<SignupRequest>(r#"["mallory","Mallory","password1",null]"#).is_err());
        assert!(from_str::<ClientFrame>(r#"["hello", null, {}]"#).is_err());
        assert!(from_str::<ClientFrame>(r#"{"type": "hello"}"#).is_ok());
    }

    #[test]
    fn unknown_fields_are_still_refused_inside_an_object() {
        assert!(
            from_str::<UpdateProfileRequest>(r#"{"display_name": "x", "admin": true}"#).is_err()
        );
    }
}
