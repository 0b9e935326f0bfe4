//! Where things are: points of presence, clients, coordinates, and the latency model between them.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Error, Result};

/// A point on the globe, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
}

impl Location {
    /// A location; see [`Location::validate`].
    pub fn new(lat: f64, lon: f64) -> Self {
        Location { lat, lon }
    }

    /// Checks the coordinates.
    ///
    /// # Errors
    /// [`Error::Config`] naming `field` for a latitude outside -90..=90 or a longitude outside -180..=180
    /// (or not a number).
    pub fn validate(&self, field: &'static str) -> Result<()> {
        if (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lon) {
            Ok(())
        } else {
            Err(Error::Config {
                field,
                reason: format!(
                    "({}, {}) is not a latitude and longitude",
                    self.lat, self.lon
                ),
            })
        }
    }

    /// The great-circle distance to `other` in kilometres (haversine, mean Earth radius).
    pub fn distance_km(&self, other: &Location) -> f64 {
        const R: f64 = 6371.0;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }
}

/// A point of presence: a named edge in a region, with coordinates when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Pop {
    /// A unique name (`lhr`, `fra`), shown in `X-Served-By`.
    pub name: String,
    /// The region it belongs to (`eu`, `us-east`).
    pub region: String,
    /// Where it is, if known.
    pub location: Option<Location>,
}

impl Pop {
    /// A point of presence named `name` in `region`, without coordinates.
    pub fn new(name: impl Into<String>, region: impl Into<String>) -> Self {
        Pop {
            name: name.into(),
            region: region.into(),
            location: None,
        }
    }

    /// The same point of presence at latitude `lat`, longitude `lon`.
    #[must_use]
    pub fn at(mut self, lat: f64, lon: f64) -> Self {
        self.location = Some(Location::new(lat, lon));
        self
    }

    pub(crate) fn place(&self) -> Place<'_> {
        Place {
            name: Some(&self.name),
            region: Some(&self.region),
            location: self.location,
        }
    }
}

/// A client of the network: an id (or address) rate limits count by, and where it is: coordinates, a
/// region, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// The client's id or address.
    pub id: String,
    /// The region it is in, if known.
    pub region: Option<String>,
    /// Where it is, if known.
    pub location: Option<Location>,
}

impl Client {
    /// A client at latitude `lat`, longitude `lon`.
    pub fn at(id: impl Into<String>, lat: f64, lon: f64) -> Self {
        Client {
            id: id.into(),
            region: None,
            location: Some(Location::new(lat, lon)),
        }
    }

    /// A client known only by its region.
    pub fn in_region(id: impl Into<String>, region: impl Into<String>) -> Self {
        Client {
            id: id.into(),
            region: Some(region.into()),
            location: None,
        }
    }

    pub(crate) fn place(&self) -> Place<'_> {
        Place {
            name: None,
            region: self.region.as_deref(),
            location: self.location,
        }
    }
}

/// One end of a path the latency model measures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    pub(crate) location: Option<Location>,
}

/// The round-trip time between two places: an explicit table first (by name or region, either direction),
/// else from coordinates (`base + per_1000_km` times the distance), else by region (`same_region` or
/// `other_region`).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyModel {
    /// The round trip between two places at the same spot (the last mile, the server's own work).
    /// Default 2 ms.
    pub base: Duration,
    /// Round-trip time added per 1,000 km of great-circle distance. Default 10 ms (light in fibre, about
    /// 5 µs per km each way).
    pub per_1000_km: Duration,
    /// Between places in the same region when coordinates are not known. Default 10 ms.
    pub same_region: Duration,
    /// Between places in different regions (or of unknown region) when coordinates are not known. Default
    /// 100 ms.
    pub other_region: Duration,
    table: HashMap<(String, String), Duration>,
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel {
            base: Duration::from_millis(2),
            per_1000_km: Duration::from_millis(10),
            same_region: Duration::from_millis(10),
            other_region: Duration::from_millis(100),
            table: HashMap::new(),
        }
    }
}

impl LatencyModel {
    /// Sets the round trip between `a` and `b` (a point of presence's name, a region, or `origin`), both
    /// directions; a table entry wins over coordinates.
    #[must_use]
    pub fn with_rtt(mut self, a: impl Into<String>, b: impl Into<String>, rtt: Duration) -> Self {
        let (a, b) = (a.into(), b.into());
        self.table.insert((b.clone(), a.clone()), rtt);
        self.table.insert((a, b), rtt);
        self
    }

    pub(crate) fn rtt(&self, a: &Place<'_>, b: &Place<'_>) -> Duration {
        if !self.table.is_empty() {
            for x in [a.name, a.region].into_iter().flatten() {
                for y in [b.name, b.region].into_iter().flatten() {
                    if let Some(d) = self.table.get(&(x.to_string(), y.to_string())) {
                        return *d;
                    }
                }
            }
        }
        if let (Some(p), Some(q)) = (a.location, b.location) {
            let km = p.distance_km(&q);
            return self.base + self.per_1000_km.mul_f64(km / 1000.0);
        }
        match (a.region, b.region) {
            (Some(x), Some(y)) if x == y => self.same_region,
            _ => self.other_region,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_latencies() {
        let london = Location::new(51.5, -0.12);
        let new_york = Location::new(40.7, -74.0);
        let km = london.distance_km(&new_york);
        assert!((5500.0..5650.0).contains(&km), "{km}");
        assert_eq!(london.distance_km(&london), 0.0);
        assert!(Location::new(91.0, 0.0).validate("x").is_err());
        assert!(Location::new(f64::NAN, 0.0).validate("x").is_err());
        let m = LatencyModel::default().with_rtt("eu", "jfk", Duration::from_millis(70));
        let eu = Client::in_region("c", "eu");
        let jfk = Pop::new("jfk", "us").at(40.6, -73.8);
        let lhr = Pop::new("lhr", "eu");
        assert_eq!(m.rtt(&eu.place(), &jfk.place()), Duration::from_millis(70));
        assert_eq!(m.rtt(&jfk.place(), &eu.place()), Duration::from_millis(70));
        assert_eq!(m.rtt(&eu.place(), &lhr.place()), Duration::from_millis(10));
        let at = Client::at("c", 51.5, -0.12);
        let rtt = m.rtt(&at.place(), &jfk.place());
        assert!(
            rtt > Duration::from_millis(55) && rtt < Duration::from_millis(60),
            "{rtt:?}"
        );
    }
}
