//! Scalar newtypes of the catalog whose YAML form is looser than a plain type
//! (a quantity may be written `1` or `"250m"`), with their JSON Schemas.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Regex for a Kubernetes resource quantity as written in a catalog.
pub const QUANTITY: &str = "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";
/// Regex for a percentage such as `25%`.
pub const PERCENT: &str = "^([0-9]|[1-9][0-9]|100)%$";

/// A Kubernetes resource quantity (`250m`, `1`, `512Mi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(pub String);

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as 250m, 1 or 512Mi")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                if v < 0 {
                    return Err(E::custom("a quantity cannot be negative"));
                }
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() || v < 0.0 {
                    return Err(E::custom(
                        "a quantity must be a finite, non-negative number",
                    ));
                }
                Ok(Quantity(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity: a number with an optional suffix (m, Ki, Mi, Gi, k, M, G), e.g. 250m, 1, 512Mi.",
            "type": ["string", "number"],
            "pattern": QUANTITY,
            "minimum": 0
        })
    }
}

/// A count or a percentage (`1`, `25%`), as used by rolling updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute number of pods.
    Int(u32),
    /// A percentage of the desired replicas, 0-100.
    Percent(u32),
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Int(n) => s.serialize_u32(*n),
            IntOrPercent::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = IntOrPercent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number or a percentage such as 25%")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrPercent, E> {
                u32::try_from(v)
                    .map(IntOrPercent::Int)
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrPercent, E> {
                u32::try_from(v)
                    .map(IntOrPercent::Int)
                    .map_err(|_| E::custom("expected a whole number from 0"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrPercent, E> {
                let digits = v
                    .strip_suffix('%')
                    .ok_or_else(|| E::custom("expected a percentage such as 25%"))?;
                let p: u32 = digits
                    .parse()
                    .map_err(|_| E::custom("expected a percentage such as 25%"))?;
                if p > 100 {
                    return Err(E::custom("a percentage cannot exceed 100%"));
                }
                Ok(IntOrPercent::Percent(p))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for IntOrPercent {
    fn schema_name() -> Cow<'static, str> {
        "IntOrPercent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number of pods or a percentage such as 25%.",
            "type": ["integer", "string"],
            "minimum": 0,
            "maximum": 10000,
            "pattern": PERCENT
        })
    }
}

/// An IPv4 or IPv6 network in CIDR notation, e.g. `203.0.113.7/32`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cidr(pub String);

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An IPv4 or IPv6 network in CIDR notation, e.g. 203.0.113.7/32 or 10.0.0.0/16.",
            "type": "string",
            "minLength": 1
        })
    }
}
