//! Behaviour of the Network: nearest routing over a table of clients and edges, failover (marked down and
//! failing health checks) with no client errors, the shield (20 edges missing one object at once make one
//! origin request), network-wide purge and soft purge, per-client and origin rate limits on the manual
//! clock, and the simulation's accounting. `network_scenarios` runs every scenario and prints
//! `edgecache network: P/T`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use edgecache::network::{Client, LatencyModel, Network, Pop, Served, Simulation, health_check_fn};
use edgecache::ratelimit::{Limit, RateLimiter, Verdict};
use edgecache::{EdgeOptions, Purge, origin};
use http::{HeaderMap, Request, Response, StatusCode};
use parking_lot::Mutex;
use stratus_clock::ManualClock;
use tokio::sync::Semaphore;

fn get(path: &str) -> Request<Bytes> {
    Request::get(format!("http://example.com{path}"))
        .body(Bytes::new())
        .unwrap()
}

/// An origin that counts its requests and keeps their headers; objects are cacheable for 600 s, carry an
/// ETag and `Surrogate-Key: <first path segment> all`; a matching `If-None-Match` gets a `304`. With a gate,
/// each request waits for a permit.
fn counting_origin(
    gate: Option<Arc<Semaphore>>,
) -> (
    impl edgecache::Origin,
    Arc<AtomicU64>,
    Arc<Mutex<Vec<HeaderMap>>>,
) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (c, s) = (count.clone(), seen.clone());
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        s.lock().push(req.headers().clone());
        let gate = gate.clone();
        async move {
            if let Some(g) = gate {
                g.acquire().await.expect("gate").forget();
            }
            let path = req.uri().path().to_string();
            if req
                .headers()
                .get("if-none-match")
                .is_some_and(|v| v == "\"e\"")
            {
                return Ok(Response::builder()
                    .status(304)
                    .header("cache-control", "max-age=600")
                    .header("etag", "\"e\"")
                    .body(Bytes::new())
                    .unwrap());
            }
            let tag = path.split('/').nth(1).unwrap_or("root").to_string();
            Ok(Response::builder()
                .header("cache-control", "max-age=600")
                .header("etag", "\"e\"")
                .header("surrogate-key", format!("{tag} all"))
                .body(Bytes::from(format!("{path} v{n}")))
                .unwrap())
        }
    });
    (origin, count, seen)
}

/// Six points of presence with coordinates.
fn world() -> Vec<Pop> {
    vec![
        Pop::new("lhr", "eu").at(51.47, -0.45),
        Pop::new("fra", "eu").at(50.04, 8.56),
        Pop::new("jfk", "us").at(40.64, -73.78),
        Pop::new("sjc", "us").at(37.36, -121.93),
        Pop::new("nrt", "ap").at(35.77, 140.39),
        Pop::new("syd", "ap").at(-33.94, 151.18),
    ]
}

fn served_by(r: &Response<Bytes>) -> String {
    r.headers()["x-served-by"].to_str().unwrap().to_string()
}

async fn routing_scenario() {
    let (origin, _, _) = counting_origin(None);
    let mut b = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_latency(
            LatencyModel::default()
                .with_rtt("sa", "jfk", Duration::from_millis(60))
                .with_rtt("sa", "sjc", Duration::from_millis(90)),
        );
    for p in world() {
        b = b.with_pop(p);
    }
    let network = b.build().unwrap();
    // client, expected nearest
    let table = [
        (Client::at("paris", 48.86, 2.35), "lhr"),
        (Client::at("berlin", 52.52, 13.40), "fra"),
        (Client::at("dublin", 53.35, -6.26), "lhr"),
        (Client::at("boston", 42.36, -71.06), "jfk"),
        (Client::at("seattle", 47.61, -122.33), "sjc"),
        (Client::at("seoul", 37.57, 126.98), "nrt"),
        (Client::at("auckland", -36.85, 174.76), "syd"),
        (Client::in_region("somewhere-in-ap", "ap"), "nrt"), // same region; ties by order added
        (Client::in_region("sao-paulo", "sa"), "jfk"),       // the explicit table
    ];
    for (client, want) in &table {
        let (pop, _) = network.route(client).unwrap();
        assert_eq!(&pop.name, want, "route of {}", client.id);
        let r = network.handle(client, get("/")).await.unwrap();
        assert_eq!(served_by(&r), *want, "served {}", client.id);
    }
    let m = network.metrics();
    assert_eq!(m.pop("lhr").unwrap().served, 2);
    assert_eq!(m.client_requests, table.len() as u64);
}

#[tokio::test]
async fn nearest_routing_over_a_table_of_clients_and_edges() {
    routing_scenario().await;
}

async fn failover_scenario() {
    let (origin, _, _) = counting_origin(None);
    let down_check = Arc::new(AtomicBool::new(false));
    let d = down_check.clone();
    let mut b = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_health_fall(2)
        .with_health_rise(2)
        .with_health_check(health_check_fn(move |pop: String| {
            let failing = d.load(Ordering::SeqCst) && pop == "jfk";
            async move { !failing }
        }));
    for p in world() {
        b = b.with_pop(p);
    }
    let network = b.build().unwrap();
    let clients = [
        Client::at("paris", 48.86, 2.35),
        Client::at("boston", 42.36, -71.06),
        Client::at("seoul", 37.57, 126.98),
    ];
    let mut errors = 0;
    let mut seen = Vec::new();
    for round in 0..300 {
        if round == 100 {
            network.set_down("lhr", true).unwrap(); // an operator takes lhr out mid-run
        }
        if round == 200 {
            down_check.store(true, Ordering::SeqCst); // jfk starts failing its health check
        }
        if (200..203).contains(&round) {
            network.check_health().await;
        }
        let tasks: Vec<_> = clients
            .iter()
            .cloned()
            .map(|c| {
                let network = network.clone();
                let path = format!("/obj/{}", round % 7);
                tokio::spawn(async move { network.handle(&c, get(&path)).await })
            })
            .collect();
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) if r.status() == StatusCode::OK => seen.push((round, served_by(&r))),
                _ => errors += 1,
            }
        }
    }
    assert_eq!(errors, 0, "no client saw an error");
    let at = |round: usize| -> Vec<String> {
        seen.iter()
            .filter(|(r, _)| *r == round)
            .map(|(_, p)| p.clone())
            .collect()
    };
    assert_eq!(at(99), ["lhr", "jfk", "nrt"]);
    assert_eq!(
        at(100),
        ["fra", "jfk", "nrt"],
        "paris moved to the next nearest"
    );
    assert_eq!(
        at(200),
        ["fra", "jfk", "nrt"],
        "one failed check is not enough (fall 2)"
    );
    assert_eq!(
        at(201),
        ["fra", "sjc", "nrt"],
        "boston moved after two failed checks"
    );
    assert_eq!(network.is_up("jfk"), Some(false));
    let m = network.metrics();
    assert!(m.pop("jfk").unwrap().failing && m.pop("lhr").unwrap().marked_down);
    // recovery: two passing checks bring jfk back; lhr comes back when marked up
    down_check.store(false, Ordering::SeqCst);
    network.check_health().await;
    assert_eq!(network.is_up("jfk"), Some(false), "rise 2");
    network.check_health().await;
    network.set_down("lhr", false).unwrap();
    for (c, want) in clients.iter().zip(["lhr", "jfk", "nrt"]) {
        assert_eq!(
            served_by(&network.handle(c, get("/x")).await.unwrap()),
            want
        );
    }
    // every point of presence down: a 503, never a hang or a panic
    for p in world() {
        network.set_down(&p.name, true).unwrap();
    }
    let r = network.handle(&clients[0], get("/x")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(network.set_down("nowhere", true).is_err());
}

#[tokio::test]
async fn failover_with_an_edge_down_mid_run_has_no_client_errors() {
    failover_scenario().await;
}

async fn shield_scenario() {
    let gate = Arc::new(Semaphore::new(0));
    let (origin, count, _) = counting_origin(Some(gate.clone()));
    let mut b = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_pop(Pop::new("shield", "eu").at(50.0, 8.0))
        .with_shield("shield");
    let mut clients = Vec::new();
    for i in 0..20 {
        let (lat, lon) = (-60.0 + 6.0 * f64::from(i), -170.0 + 17.0 * f64::from(i));
        b = b.with_pop(Pop::new(format!("e{i}"), "eu").at(lat, lon));
        clients.push(Client::at(format!("c{i}"), lat, lon));
    }
    let network = b.build().unwrap();
    let tasks: Vec<_> = clients
        .iter()
        .cloned()
        .map(|c| {
            let network = network.clone();
            tokio::spawn(async move { network.handle(&c, get("/big/object")).await })
        })
        .collect();
    // wait (without sleeping) until every one of the 20 edges is fetching, all from the shield
    let edges: Vec<_> = (0..20)
        .map(|i| network.edge(&format!("e{i}")).unwrap().clone())
        .collect();
    for _ in 0..100_000 {
        if edges.iter().all(|e| e.fetches_in_progress() == 1)
            && network.edge("shield").unwrap().metrics().coalesced == 19
        {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        edges.iter().all(|e| e.fetches_in_progress() == 1),
        "20 edges missed at once"
    );
    gate.add_permits(1_000);
    let mut bodies = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap().unwrap();
        assert_eq!(served_by(&r), format!("e{i}"));
        bodies.push(r.into_body());
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "exactly one origin request"
    );
    assert!(bodies.iter().all(|b| b == "/big/object v1"));
    let m = network.metrics();
    assert_eq!(m.origin_requests, 1);
    assert!(
        m.pops
            .iter()
            .filter(|p| !p.is_shield)
            .all(|p| p.shield_fetches == 1 && p.shield.as_deref() == Some("shield"))
    );
    assert_eq!(m.pop("shield").unwrap().edge.coalesced, 19);
    // warm: every edge answers from its own cache
    for c in &clients {
        network.handle(c, get("/big/object")).await.unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    // the shield down: edges bypass it and still answer
    network.set_down("shield", true).unwrap();
    let r = network.handle(&clients[3], get("/new")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(network.metrics().pop("e3").unwrap().shield_bypassed, 1);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn twenty_edges_missing_one_object_at_once_make_one_origin_request() {
    shield_scenario().await;
}

/// Regional shields: each edge fills from the shield of its region.
#[tokio::test]
async fn each_edge_fills_from_the_shield_of_its_region() {
    let (origin, count, _) = counting_origin(None);
    let mut b = Network::builder(origin).with_clock(ManualClock::new().clock());
    for p in world() {
        b = b.with_pop(p);
    }
    let network = b.with_shield("fra").with_shield("jfk").build().unwrap();
    let m = network.metrics();
    let shield_of = |n: &str| m.pop(n).unwrap().shield.clone();
    assert_eq!(shield_of("lhr").as_deref(), Some("fra"));
    assert_eq!(shield_of("sjc").as_deref(), Some("jfk"));
    assert_eq!(shield_of("fra"), None);
    // ap has no shield: its edges fill from the nearest one (Frankfurt for Tokyo, New York for Sydney)
    assert_eq!(shield_of("nrt").as_deref(), Some("fra"));
    assert_eq!(shield_of("syd").as_deref(), Some("jfk"));
    let paris = Client::at("paris", 48.86, 2.35);
    let sf = Client::at("sf", 37.77, -122.42);
    network.handle(&paris, get("/a")).await.unwrap();
    network.handle(&sf, get("/a")).await.unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "two regions, two shields, two fills"
    );
}

async fn purge_scenario() {
    let (origin, count, seen) = counting_origin(None);
    let mut b = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_edge_options({
            let mut o = EdgeOptions::default();
            o.purge_host = Some("example.com".into());
            o
        });
    for p in world().into_iter().take(3) {
        b = b.with_pop(p);
    }
    let network = b.with_shield("fra").build().unwrap();
    let paris = Client::at("paris", 48.86, 2.35); // lhr, fills from fra
    let berlin = Client::at("berlin", 52.52, 13.40); // fra itself
    let boston = Client::at("boston", 42.36, -71.06); // jfk, fills from fra
    let everyone = [&paris, &berlin, &boston];
    for c in everyone {
        for p in ["/img/1", "/img/2", "/page/1", "/page/2"] {
            network.handle(c, get(p)).await.unwrap();
        }
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        4,
        "the shield filled once per object"
    );

    // by tag: every edge and the shield drop both images
    let report = network.purge(Purge::tag("img")).await.unwrap();
    assert_eq!(report.total, 6);
    assert_eq!(
        report.per_pop[0],
        ("fra".to_string(), 2),
        "the shield first"
    );
    assert!(report.per_pop.iter().all(|(_, n)| *n == 2));
    // by key, written as a URL, and as a path (the edges' purge host)
    assert_eq!(
        network
            .purge(Purge::key("http://Example.com/page/1"))
            .await
            .unwrap()
            .total,
        3
    );
    assert_eq!(
        network.purge(Purge::key("/page/1")).await.unwrap().total,
        0,
        "already gone"
    );
    // by prefix
    assert_eq!(
        network.purge(Purge::prefix("/page/")).await.unwrap().total,
        3
    );
    let before = count.load(Ordering::SeqCst);
    for c in everyone {
        let r = network.handle(c, get("/page/2")).await.unwrap();
        assert_eq!(r.body(), &format!("/page/2 v{}", before + 1));
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        before + 1,
        "refilled once, through the shield"
    );

    // soft purge by tag: stored, but revalidated: one conditional request to the origin, a 304
    let report = network.soft_purge(Purge::tag("page")).await.unwrap();
    assert_eq!(report.total, 3);
    let before = count.load(Ordering::SeqCst);
    for c in everyone {
        let r = network.handle(c, get("/page/2")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.body(), &format!("/page/2 v{before}"), "the body kept");
    }
    assert_eq!(count.load(Ordering::SeqCst), before + 1);
    assert!(seen.lock().last().unwrap().contains_key("if-none-match"));
    // soft purge by key and by prefix mark what they name
    assert_eq!(
        network
            .soft_purge(Purge::key("/page/2"))
            .await
            .unwrap()
            .total,
        3
    );
    assert_eq!(
        network
            .soft_purge(Purge::prefix("/page/"))
            .await
            .unwrap()
            .total,
        0,
        "already marked"
    );
    // a key that names no host, or a bad one, is an error that names the purge key
    let (origin, _, _) = counting_origin(None);
    let bare = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_pop(Pop::new("lhr", "eu"))
        .build()
        .unwrap();
    let e = bare.purge(Purge::key("/page/1")).await.unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
    assert!(e.to_string().contains("purge key"), "{e}");
    assert!(bare.soft_purge(Purge::prefix("bad host/")).await.is_err());
}

#[tokio::test]
async fn network_wide_purge_and_soft_purge() {
    purge_scenario().await;
}

async fn rate_limit_scenario() {
    let (origin, count, _) = counting_origin(None);
    let manual = ManualClock::new();
    let network = Network::builder(origin)
        .with_clock(manual.clock())
        .with_pop(Pop::new("lhr", "eu"))
        .with_client_limit(Limit::new(2.0, 5))
        .with_origin_limit(Limit::new(1.0, 3))
        .build()
        .unwrap();
    let flood = Client::in_region("203.0.113.9", "eu");
    let calm = Client::in_region("198.51.100.1", "eu");
    let statuses =
        |rs: &[Response<Bytes>]| rs.iter().map(|r| r.status().as_u16()).collect::<Vec<_>>();
    let mut rs = Vec::new();
    for _ in 0..6 {
        rs.push(network.handle(&flood, get("/a")).await.unwrap());
    }
    assert_eq!(statuses(&rs), [200, 200, 200, 200, 200, 429]);
    assert_eq!(
        rs[5].headers()["retry-after"],
        "1",
        "half a second to the next token, rounded up"
    );
    // a flood from one client does not slow another
    for _ in 0..10_000 {
        let r = network.handle(&flood, get("/a")).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        network.handle(&calm, get("/a")).await.unwrap().status(),
        StatusCode::OK
    );
    manual.advance(Duration::from_millis(500));
    assert_eq!(
        network.handle(&flood, get("/a")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        network.handle(&flood, get("/a")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let m = network.metrics();
    assert_eq!(m.rate_limited, 10_002);
    assert_eq!(m.client_requests, 7);

    // the origin limit: burst 3, then 503 with Retry-After without reaching the origin
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let mut got = Vec::new();
    for i in 0..3 {
        let c = Client::in_region(format!("c{i}"), "eu");
        got.push(
            network
                .handle(&c, get(&format!("/cold/{i}")))
                .await
                .unwrap(),
        );
    }
    assert_eq!(statuses(&got), [200, 200, 503]);
    assert_eq!(got[2].headers()["retry-after"], "1");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_eq!(network.metrics().origin_refused, 1);
    manual.advance(Duration::from_secs(1));
    let c = Client::in_region("c9", "eu");
    assert_eq!(
        network.handle(&c, get("/cold/2")).await.unwrap().status(),
        StatusCode::OK
    );

    // the limiter alone: counts, Retry-After, and memory bounded under a flood of new ids
    let limiter = RateLimiter::new(Limit::new(0.5, 1), manual.clock())
        .unwrap()
        .with_max_clients(1_000);
    assert_eq!(limiter.check("x"), Verdict::Allowed);
    assert_eq!(
        limiter.check("x"),
        Verdict::Limited {
            retry_after: Duration::from_secs(2)
        }
    );
    manual.advance(Duration::from_millis(1_500));
    assert_eq!(
        limiter.check("x"),
        Verdict::Limited {
            retry_after: Duration::from_millis(500)
        }
    );
    for i in 0..50_000 {
        limiter.check(&format!("10.0.{}.{}", i / 256, i % 256));
    }
    assert!(
        limiter.clients() <= 1_000 + 16,
        "{} clients remembered",
        limiter.clients()
    );
    assert_eq!((limiter.allowed(), limiter.limited()), (50_001, 2));
    assert!(RateLimiter::new(Limit::new(0.0, 1), manual.clock()).is_err());
}

#[tokio::test]
async fn rate_limits_count_on_the_manual_clock_and_answer_retry_after() {
    rate_limit_scenario().await;
}

async fn simulation_scenario() {
    let (origin, _, _) = counting_origin(None);
    let network = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_latency(
            LatencyModel::default()
                .with_rtt("eu", "lhr", Duration::from_millis(5))
                .with_rtt("eu", "origin", Duration::from_millis(100))
                .with_rtt("lhr", "fra", Duration::from_millis(10))
                .with_rtt("fra", "origin", Duration::from_millis(90)),
        )
        .with_pop(Pop::new("lhr", "eu"))
        .with_pop(Pop::new("fra", "de"))
        .with_shield("fra")
        .build()
        .unwrap();
    let mut sim = Simulation::new(network.clone());
    let eu = Client::in_region("a", "eu");
    assert_eq!(sim.request(&eu, get("/x")).await.unwrap(), Served::Origin);
    assert_eq!(sim.request(&eu, get("/x")).await.unwrap(), Served::Edge);
    network
        .edge("lhr")
        .unwrap()
        .purge_key("example.com/x")
        .await
        .unwrap();
    assert_eq!(sim.request(&eu, get("/x")).await.unwrap(), Served::Shield);
    let report = sim.report();
    assert_eq!(report.total.requests, 3);
    assert!((report.total.hit_ratio - 1.0 / 3.0).abs() < 1e-9);
    assert!((report.total.origin_offload - 2.0 / 3.0).abs() < 1e-9);
    // latencies: 5 + 10 + 90, then 5, then 5 + 10
    assert_eq!(
        report.total.mean_latency,
        Duration::from_micros(125_000 / 3)
    );
    assert_eq!(report.total.p99_latency, Duration::from_millis(105));
    assert_eq!(report.baseline.mean_latency, Duration::from_millis(100));
    assert_eq!(report.baseline.origin_offload, 0.0);
    assert_eq!(report.per_pop.len(), 1);
    assert_eq!(report.per_pop[0].name, "lhr");
}

#[tokio::test]
async fn the_simulation_accounts_hits_shield_hits_and_latency() {
    simulation_scenario().await;
}

#[tokio::test]
async fn bad_configuration_is_a_typed_error() {
    let build = |b: edgecache::network::NetworkBuilder| b.build().map(|_| ()).unwrap_err();
    let (o, _, _) = counting_origin(None);
    assert_eq!(build(Network::builder(o)).code(), "Config");
    let (o, _, _) = counting_origin(None);
    let e = build(
        Network::builder(o)
            .with_pop(Pop::new("a", "r"))
            .with_pop(Pop::new("a", "r")),
    );
    assert!(e.to_string().contains("two points of presence"), "{e}");
    let (o, _, _) = counting_origin(None);
    let e = build(Network::builder(o).with_pop(Pop::new("a", "r").at(100.0, 0.0)));
    assert!(e.to_string().contains("latitude"), "{e}");
    let (o, _, _) = counting_origin(None);
    let e = build(
        Network::builder(o)
            .with_pop(Pop::new("a", "r"))
            .with_shield("b"),
    );
    assert!(e.to_string().contains("\"b\""), "{e}");
    let (o, _, _) = counting_origin(None);
    let e = build(
        Network::builder(o)
            .with_pop(Pop::new("a", "r"))
            .with_client_limit(Limit::new(1.0, 0)),
    );
    assert!(e.to_string().contains("client_limit"), "{e}");
}

#[test]
fn network_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let (o, _, _) = counting_origin(None);
    let network = Network::builder(o)
        .with_pop(Pop::new("a", "r"))
        .build()
        .unwrap();
    let c = Client::in_region("c", "r");
    is_send(&network.handle(&c, get("/")));
    is_send(&network.purge(Purge::tag("t")));
    is_send(&network.check_health());
}

/// Every scenario above, each in its own task (a failed assertion is a failed check), scored.
#[tokio::test]
async fn network_scenarios() {
    let mut passed = 0;
    let mut total = 0;
    macro_rules! scenario {
        ($f:ident) => {
            total += 1;
            match tokio::spawn($f()).await {
                Ok(()) => passed += 1,
                Err(e) => eprintln!("scenario {} failed: {e}", stringify!($f)),
            }
        };
    }
    scenario!(routing_scenario);
    scenario!(failover_scenario);
    scenario!(shield_scenario);
    scenario!(purge_scenario);
    scenario!(rate_limit_scenario);
    scenario!(simulation_scenario);
    println!("edgecache network: {passed}/{total}");
    assert_eq!(passed, total);
}

/// A flood from one client on four threads does not cost another client a single refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_flood_from_one_client_does_not_limit_another() {
    let (origin, _, _) = counting_origin(None);
    let network = Network::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_pop(Pop::new("lhr", "eu"))
        .with_client_limit(Limit::new(1.0, 5))
        .build()
        .unwrap();
    let floods: Vec<_> = (0..4)
        .map(|_| {
            let network = network.clone();
            tokio::spawn(async move {
                let c = Client::in_region("203.0.113.9", "eu");
                let mut ok = 0;
                for _ in 0..5_000 {
                    if network.handle(&c, get("/a")).await.unwrap().status() == StatusCode::OK {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let calm = Client::in_region("198.51.100.1", "eu");
    for _ in 0..5 {
        let r = network.handle(&calm, get("/a")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        tokio::task::yield_now().await;
    }
    let mut flood_ok = 0;
    for f in floods {
        flood_ok += f.await.unwrap();
    }
    assert_eq!(flood_ok, 5, "the flood got its burst and nothing more");
    assert_eq!(network.metrics().rate_limited, 20_000 - 5);
}

/// `run_health_checks` checks every `health_interval` on the network's clock (no sleeping in the test).
#[tokio::test]
async fn health_checks_run_on_the_network_clock() {
    let (origin, _, _) = counting_origin(None);
    let manual = ManualClock::new();
    let checks = Arc::new(AtomicU64::new(0));
    let c = checks.clone();
    let network = Network::builder(origin)
        .with_clock(manual.clock())
        .with_pop(Pop::new("lhr", "eu"))
        .with_pop(Pop::new("fra", "eu"))
        .with_health_interval(Duration::from_secs(10))
        .with_health_fall(1)
        .with_health_check(health_check_fn(move |pop: String| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move { pop != "lhr" || n < 2 }
        }))
        .build()
        .unwrap();
    let task = tokio::spawn(network.clone().run_health_checks());
    manual.wait_for_sleepers(1).await;
    assert_eq!(checks.load(Ordering::SeqCst), 2, "one round at the start");
    assert_eq!(network.is_up("lhr"), Some(true));
    manual.advance(Duration::from_secs(9));
    tokio::task::yield_now().await;
    assert_eq!(checks.load(Ordering::SeqCst), 2, "not before the interval");
    manual.advance(Duration::from_secs(1));
    manual.wait_for_sleepers(1).await;
    assert_eq!(checks.load(Ordering::SeqCst), 4);
    assert_eq!(
        network.is_up("lhr"),
        Some(false),
        "lhr failed its second check"
    );
    let paris = Client::at("paris", 48.86, 2.35);
    assert_eq!(network.route(&paris).unwrap().0.name, "fra");
    task.abort();
}
