//! Loading S3's JSON, and the checks S3 makes when rules are put.

use super::matching::parse_date;
use super::{LifecycleConfiguration, LifecycleRule};
use crate::error::{Error, Result};
use crate::types::storage_class::StorageClass;

impl LifecycleConfiguration {
    /// Loads S3's JSON form (what `aws s3api put-bucket-lifecycle-configuration` takes).
    ///
    /// # Errors
    /// `MalformedXML` ([`Error::MalformedConfiguration`]) for JSON that is not a lifecycle configuration.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::MalformedConfiguration {
            bucket: String::new(),
            reason: e.to_string(),
        })
    }

    /// Checks the rules as S3 does when they are put.
    ///
    /// # Errors
    /// `MalformedXML` naming the rule and what is wrong.
    pub fn validate(&self, bucket: &str) -> Result<()> {
        let bad = |i: usize, r: &LifecycleRule, what: &str| Error::MalformedConfiguration {
            bucket: bucket.to_string(),
            reason: format!(
                "rule {} ({}): {what}",
                i + 1,
                r.id.as_deref().unwrap_or("no ID")
            ),
        };
        if self.rules.len() > 1000 {
            return Err(Error::MalformedConfiguration {
                bucket: bucket.to_string(),
                reason: format!("{} rules, over the limit of 1000", self.rules.len()),
            });
        }
        let mut ids = std::collections::HashSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(id) = &r.id {
                if id.chars().count() > 255 {
                    return Err(bad(i, r, "the ID is longer than 255 characters"));
                }
                if !ids.insert(id) {
                    return Err(bad(i, r, "the ID is used by another rule"));
                }
            }
            if r.expiration.is_none()
                && r.transitions.is_empty()
                && r.noncurrent_version_expiration.is_none()
                && r.noncurrent_version_transitions.is_empty()
                && r.abort_incomplete_multipart_upload.is_none()
            {
                return Err(bad(i, r, "a rule needs at least one action"));
            }
            if let Some(f) = &r.filter {
                let set = [
                    f.prefix.is_some(),
                    f.tag.is_some(),
                    f.and.is_some(),
                    f.object_size_greater_than.is_some(),
                    f.object_size_less_than.is_some(),
                ];
                if set.iter().filter(|b| **b).count() > 1 {
                    return Err(bad(
                        i,
                        r,
                        "a Filter holds one condition; use And for several",
                    ));
                }
                if r.prefix.is_some() {
                    return Err(bad(i, r, "Prefix and Filter cannot both be set"));
                }
            }
            if let Some(e) = &r.expiration {
                let set = [
                    e.days.is_some(),
                    e.date.is_some(),
                    e.expired_object_delete_marker.is_some(),
                ];
                if set.iter().filter(|b| **b).count() != 1 {
                    return Err(bad(
                        i,
                        r,
                        "Expiration takes exactly one of Days, Date and ExpiredObjectDeleteMarker",
                    ));
                }
                if e.days == Some(0) {
                    return Err(bad(i, r, "Expiration Days must be a positive integer"));
                }
                if let Some(d) = &e.date {
                    parse_date(bucket, d)?;
                }
            }
            for t in &r.transitions {
                if t.days.is_some() == t.date.is_some() {
                    return Err(bad(i, r, "a Transition takes exactly one of Days and Date"));
                }
                if let Some(d) = &t.date {
                    parse_date(bucket, d)?;
                }
                if t.storage_class == StorageClass::Standard {
                    return Err(bad(i, r, "a Transition cannot go to STANDARD"));
                }
            }
            if let Some(n) = &r.noncurrent_version_expiration {
                if n.noncurrent_days.is_none_or(|d| d == 0) {
                    return Err(bad(i, r, "NoncurrentDays must be a positive integer"));
                }
            }
            for t in &r.noncurrent_version_transitions {
                if t.noncurrent_days.is_none() || t.storage_class == StorageClass::Standard {
                    return Err(bad(
                        i,
                        r,
                        "a NoncurrentVersionTransition needs NoncurrentDays and a class other than STANDARD",
                    ));
                }
            }
            if let Some(a) = &r.abort_incomplete_multipart_upload {
                if a.days_after_initiation == 0 {
                    return Err(bad(i, r, "DaysAfterInitiation must be a positive integer"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::storage_class::StorageClass;

    #[test]
    fn loads_the_json_given_to_aws() {
        let json = r#"{
          "Rules": [
            {
              "ID": "archive-then-expire",
              "Status": "Enabled",
              "Filter": { "Prefix": "logs/" },
              "Transitions": [ { "Days": 30, "StorageClass": "GLACIER" } ],
              "Expiration": { "Days": 365 },
              "NoncurrentVersionExpiration": { "NoncurrentDays": 7, "NewerNoncurrentVersions": 2 },
              "NoncurrentVersionTransitions": [ { "NoncurrentDays": 1, "StorageClass": "STANDARD_IA" } ],
              "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 3 }
            },
            {
              "ID": "tagged",
              "Status": "Disabled",
              "Filter": { "And": { "Prefix": "tmp/", "Tags": [ { "Key": "k", "Value": "v" } ], "ObjectSizeGreaterThan": 10 } },
              "Expiration": { "Date": "2030-01-01T00:00:00Z" }
            },
            { "ID": "markers", "Status": "Enabled", "Filter": {}, "Expiration": { "ExpiredObjectDeleteMarker": true } }
          ]
        }"#;
        let c = LifecycleConfiguration::from_json(json).unwrap();
        c.validate("b").unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(
            c.rules[0].transitions[0].storage_class,
            StorageClass::Glacier
        );
        assert_eq!(c.rules[0].prefix(), "logs/");
        assert_eq!(c.rules[1].prefix(), "tmp/");
        // Round trip through S3's field names.
        let back = serde_json::to_string(&c).unwrap();
        assert!(back.contains("\"NoncurrentVersionTransitions\"") && back.contains("\"ID\""));
        assert_eq!(LifecycleConfiguration::from_json(&back).unwrap(), c);

        assert_eq!(
            LifecycleConfiguration::from_json("{\"Rules\": 3}")
                .unwrap_err()
                .code(),
            "MalformedXML"
        );
        for bad in [
            r#"{"Rules":[{"Status":"Enabled"}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Expiration":{"Days":0}}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Expiration":{"Days":1,"Date":"2030-01-01T00:00:00Z"}}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Expiration":{"Date":"2030-01-01T10:00:00Z"}}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Transitions":[{"Days":1,"StorageClass":"STANDARD"}]}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Filter":{"Prefix":"a","ObjectSizeLessThan":5},"Expiration":{"Days":1}}]}"#,
            r#"{"Rules":[{"ID":"x","Status":"Enabled","Expiration":{"Days":1}},{"ID":"x","Status":"Enabled","Expiration":{"Days":1}}]}"#,
        ] {
            let c = LifecycleConfiguration::from_json(bad).unwrap();
            assert_eq!(c.validate("b").unwrap_err().code(), "MalformedXML", "{bad}");
        }
    }
}
