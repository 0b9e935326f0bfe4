//! Function lifecycle: create, update, delete, get, list; configuration limits; versions; aliases; DryRun.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::*;
use funcrt::{
    AliasConfig, Code, ConfigUpdate, Context, Error, FunctionConfig, HandlerError, InvokeOptions,
    ListOptions,
};
use serde_json::{Value, json};

#[tokio::test]
async fn create_get_list_update_delete() {
    let (_clock, rt) = manual_runtime();
    let cfg = FunctionConfig::builder()
        .with_memory_mb(512)
        .with_timeout(Duration::from_secs(30))
        .with_env("STAGE", "test")
        .with_description("first")
        .build()
        .unwrap();
    let info = rt.create_function("alpha", echo(), cfg.clone()).unwrap();
    assert_eq!(
        info.arn,
        "arn:aws:lambda:us-east-1:123456789012:function:alpha"
    );
    assert_eq!(info.config, cfg);
    assert_eq!(rt.get_function("alpha").unwrap().config.memory_mb, 512);

    let e = rt.create_function("alpha", echo(), config()).unwrap_err();
    assert_eq!(e.code(), "ResourceConflictException");
    assert!(
        e.to_string().contains("Function already exist: alpha"),
        "{e}"
    );

    for n in ["delta", "bravo", "charlie", "echo"] {
        rt.create_function(n, echo(), config()).unwrap();
    }
    let page = rt
        .list_functions(ListOptions {
            marker: None,
            max_items: 2,
        })
        .unwrap();
    let names: Vec<_> = page.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["alpha", "bravo"]);
    let page = rt
        .list_functions(ListOptions {
            marker: page.next_marker,
            max_items: 2,
        })
        .unwrap();
    let names: Vec<_> = page.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["charlie", "delta"]);
    let page = rt
        .list_functions(ListOptions {
            marker: page.next_marker,
            max_items: 2,
        })
        .unwrap();
    assert_eq!(page.functions.len(), 1);
    assert_eq!(page.next_marker, None);
    assert!(
        rt.list_functions(ListOptions {
            marker: None,
            max_items: 0
        })
        .is_err()
    );

    let before = rt.get_function("alpha").unwrap().revision_id;
    let updated = rt
        .update_function_configuration(
            "alpha",
            ConfigUpdate {
                memory_mb: Some(1024),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(updated.config.memory_mb, 1024);
    assert_eq!(
        updated.config.timeout,
        Duration::from_secs(30),
        "other fields unchanged"
    );
    assert_ne!(updated.revision_id, before);

    rt.delete_function("alpha").unwrap();
    let e = rt.get_function("alpha").unwrap_err();
    assert_eq!((e.code(), e.status()), ("ResourceNotFoundException", 404));
    assert!(
        e.to_string()
            .contains("arn:aws:lambda:us-east-1:123456789012:function:alpha")
    );
    assert_eq!(
        rt.delete_function("alpha").unwrap_err().code(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        rt.invoke("alpha", json!(1)).await.unwrap_err().code(),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn bad_input_is_a_typed_error_naming_the_parameter() {
    let (_clock, rt) = manual_runtime();
    let e = rt
        .create_function("bad name!", echo(), config())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                parameter: "FunctionName",
                ..
            }
        ),
        "{e}"
    );
    let mut cfg = FunctionConfig::default();
    cfg.memory_mb = 64;
    let e = rt.create_function("f", echo(), cfg).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                parameter: "MemorySize",
                ..
            }
        ),
        "{e}"
    );
    let mut cfg = FunctionConfig::default();
    cfg.timeout = Duration::from_secs(901);
    let e = rt.create_function("f", echo(), cfg).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                parameter: "Timeout",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.code(), "InvalidParameterValueException");

    rt.create_function("f", echo(), config()).unwrap();
    let e = rt
        .update_function_configuration(
            "f",
            ConfigUpdate {
                memory_mb: Some(10_241),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidParameter {
            parameter: "MemorySize",
            ..
        }
    ));
    assert_eq!(
        rt.get_function("f").unwrap().config.memory_mb,
        128,
        "a rejected update changes nothing"
    );
    let e = rt.invoke("f:nope", json!(1)).await.unwrap_err();
    assert!(matches!(e, Error::AliasNotFound { .. }), "{e}");
    let e = rt.invoke("f:7", json!(1)).await.unwrap_err();
    assert!(matches!(e, Error::VersionNotFound { .. }), "{e}");
    assert!(
        rt.put_function_concurrency("f", Some(901)).is_err(),
        "leaves fewer than 100 unreserved"
    );
    assert!(rt.put_function_concurrency("f", Some(900)).is_ok());
}

fn versioned(tag: &'static str) -> Code {
    Code::from_fn(move |_e: Value, ctx: Context| async move {
        Ok::<_, HandlerError>(
            json!({ "tag": tag, "version": ctx.function_version(), "memory": ctx.memory_limit_in_mb() }),
        )
    })
}

#[tokio::test]
async fn published_versions_are_immutable_and_latest_moves_on() {
    let (_clock, rt) = manual_runtime();
    rt.create_function("f", versioned("one"), config()).unwrap();
    let v1 = rt.publish_version("f", "first").unwrap();
    assert_eq!(v1.version, "1");
    assert_eq!(v1.arn, "arn:aws:lambda:us-east-1:123456789012:function:f:1");
    assert_eq!(
        rt.publish_version("f", "again").unwrap().version,
        "1",
        "nothing changed: same version"
    );

    rt.update_function_code("f", versioned("two")).unwrap();
    rt.update_function_configuration(
        "f",
        ConfigUpdate {
            memory_mb: Some(2048),
            ..Default::default()
        },
    )
    .unwrap();
    let v2 = rt.publish_version("f", "second").unwrap();
    assert_eq!(v2.version, "2");

    let r = rt.invoke("f:1", json!(null)).await.unwrap();
    assert_eq!(&*r.executed_version, "1");
    assert_eq!(
        r.payload,
        json!({ "tag": "one", "version": "1", "memory": 128 })
    );
    let r = rt
        .invoke_opts("f", json!(null), InvokeOptions::default().qualifier("2"))
        .await
        .unwrap();
    assert_eq!(
        r.payload,
        json!({ "tag": "two", "version": "2", "memory": 2048 })
    );
    let r = rt.invoke("f", json!(null)).await.unwrap();
    assert_eq!(&*r.executed_version, "$LATEST");
    assert_eq!(r.payload["tag"], "two");

    let versions: Vec<String> = rt
        .list_versions("f")
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["$LATEST", "1", "2"]);
    rt.delete_version("f", 1).unwrap();
    assert!(matches!(
        rt.invoke("f:1", json!(null)).await,
        Err(Error::VersionNotFound { .. })
    ));
    let m = rt.metrics("f").unwrap();
    assert_eq!(
        m.by_version["1"].invocations, 1,
        "a deleted version's metrics stay"
    );
}

#[tokio::test]
async fn aliases_route_by_weight_and_report_the_executed_version() {
    let (_clock, rt) = manual_runtime();
    rt.create_function("f", versioned("one"), config()).unwrap();
    rt.publish_version("f", "").unwrap();
    rt.update_function_code("f", versioned("two")).unwrap();
    rt.publish_version("f", "").unwrap();

    let a = rt
        .create_alias("f", AliasConfig::new("live", "1").with_routing("2", 0.25))
        .unwrap();
    assert_eq!(
        a.arn,
        "arn:aws:lambda:us-east-1:123456789012:function:f:live"
    );
    let mut on_two = 0;
    for _ in 0..4000 {
        let r = rt.invoke("f:live", json!(null)).await.unwrap();
        let tag = r.payload["tag"].as_str().unwrap().to_owned();
        match &*r.executed_version {
            "1" => assert_eq!(tag, "one"),
            "2" => {
                assert_eq!(tag, "two");
                on_two += 1;
            }
            v => panic!("unexpected version {v}"),
        }
    }
    assert!(
        (850..=1150).contains(&on_two),
        "25% of 4000 expected, got {on_two}"
    );
    let m = rt.metrics("f").unwrap();
    assert_eq!(m.by_version["2"].invocations, on_two);
    assert_eq!(m.by_version["1"].invocations, 4000 - on_two);

    let e = rt.delete_version("f", 2).unwrap_err();
    assert_eq!(e.code(), "ResourceConflictException");
    rt.update_alias("f", AliasConfig::new("live", "2")).unwrap();
    for _ in 0..50 {
        assert_eq!(
            &*rt.invoke("f:live", json!(null))
                .await
                .unwrap()
                .executed_version,
            "2"
        );
    }
    assert_eq!(rt.get_alias("f", "live").unwrap().config.routing, None);
    rt.delete_version("f", 1).unwrap();

    let e = rt
        .create_alias("f", AliasConfig::new("live", "2"))
        .unwrap_err();
    assert_eq!(e.code(), "ResourceConflictException");
    let e = rt
        .create_alias("f", AliasConfig::new("other", "9"))
        .unwrap_err();
    assert_eq!(e.code(), "ResourceNotFoundException");
    let e = rt
        .create_alias(
            "f",
            AliasConfig::new("other", "2").with_routing("$LATEST", 0.5),
        )
        .unwrap_err();
    assert_eq!(e.code(), "InvalidParameterValueException");
    let e = rt
        .update_alias("f", AliasConfig::new("missing", "2"))
        .unwrap_err();
    assert!(matches!(e, Error::AliasNotFound { .. }));
    rt.delete_alias("f", "live").unwrap();
    assert!(matches!(
        rt.invoke("f:live", json!(null)).await,
        Err(Error::AliasNotFound { .. })
    ));
}

#[tokio::test]
async fn environment_reaches_init_and_handler() {
    let (_clock, rt) = manual_runtime();
    let code = Code::with_init(|init: funcrt::InitContext| {
        let greeting = init.env("GREETING").unwrap_or("none").to_owned();
        async move {
            Ok(funcrt::handler_fn(move |_e: Value, ctx: Context| {
                let greeting = greeting.clone();
                async move {
                    Ok::<_, HandlerError>(json!({
                        "init": greeting,
                        "handler": ctx.env("GREETING"),
                        "name": ctx.function_name(),
                        "log_group": ctx.env_config.log_group,
                    }))
                }
            }))
        }
    });
    rt.create_function(
        "env",
        code,
        FunctionConfig::builder()
            .with_env("GREETING", "hi")
            .build()
            .unwrap(),
    )
    .unwrap();
    let r = rt.invoke("env", json!(null)).await.unwrap();
    assert_eq!(
        r.payload,
        json!({ "init": "hi", "handler": "hi", "name": "env", "log_group": "/aws/lambda/env" })
    );
}

#[tokio::test]
async fn dry_run_checks_existence_only() {
    let (_clock, rt) = manual_runtime();
    let inits = Arc::new(AtomicU32::new(0));
    let calls = Arc::new(AtomicU32::new(0));
    rt.create_function("f", counting(inits.clone(), calls.clone()), config())
        .unwrap();
    let r = rt
        .invoke_opts("f", json!({ "x": 1 }), InvokeOptions::dry_run())
        .await
        .unwrap();
    assert_eq!(r.status_code, 204);
    assert_eq!(r.payload, Value::Null);
    assert_eq!(
        (inits.load(Ordering::SeqCst), calls.load(Ordering::SeqCst)),
        (0, 0),
        "nothing ran"
    );
    assert_eq!(rt.metrics("f").unwrap().total.invocations, 0);
    let e = rt
        .invoke_opts("g", json!(1), InvokeOptions::dry_run())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "ResourceNotFoundException");
    let e = rt
        .invoke_opts("f", json!(1), InvokeOptions::dry_run().qualifier("3"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "ResourceNotFoundException");
}
