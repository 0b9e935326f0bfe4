//! ListObjectsV2: prefixes, delimiters, pagination and key order.

use stratus_clock::ManualClock;

use crate::{ETag, ListOptions, Store};

async fn fill(store: &Store, name: &str, keys: &[&str]) -> crate::Bucket {
    let b = store.create_bucket(name).await.unwrap();
    for k in keys {
        b.put(k, k.as_bytes().to_vec()).await.unwrap();
    }
    b
}

fn keys_of(page: &crate::ListPage) -> Vec<&str> {
    page.objects.iter().map(|m| m.key.as_str()).collect()
}

/// ListObjectsV2 without a delimiter: prefix, start-after, max-keys 0 and the 1000 cap.
pub async fn list_basics(store: &Store, _clock: &ManualClock) {
    let b = fill(store, "list", &["a/1", "a/2", "ab", "b/1", "c"]).await;
    let page = b.list(&ListOptions::default()).await.unwrap();
    assert_eq!(keys_of(&page), ["a/1", "a/2", "ab", "b/1", "c"]);
    assert!(!page.is_truncated && page.next_continuation_token.is_none());
    assert_eq!((page.key_count, page.max_keys), (5, 1000));
    assert_eq!(page.objects[0].etag, ETag::of(b"a/1"));
    assert_eq!(page.objects[0].size, 3);

    assert_eq!(
        keys_of(&b.list(&ListOptions::default().prefix("a")).await.unwrap()),
        ["a/1", "a/2", "ab"]
    );
    assert_eq!(
        keys_of(&b.list(&ListOptions::default().prefix("a/")).await.unwrap()),
        ["a/1", "a/2"]
    );
    assert!(
        b.list(&ListOptions::default().prefix("zzz"))
            .await
            .unwrap()
            .objects
            .is_empty()
    );
    assert_eq!(
        keys_of(
            &b.list(&ListOptions::default().start_after("a/2"))
                .await
                .unwrap()
        ),
        ["ab", "b/1", "c"]
    );
    assert_eq!(
        keys_of(
            &b.list(&ListOptions::default().start_after("a/15"))
                .await
                .unwrap()
        ),
        ["a/2", "ab", "b/1", "c"]
    );
    assert_eq!(
        keys_of(
            &b.list(&ListOptions::default().prefix("b").start_after("a"))
                .await
                .unwrap()
        ),
        ["b/1"]
    );

    let zero = b.list(&ListOptions::default().max_keys(0)).await.unwrap();
    assert!(zero.objects.is_empty() && !zero.is_truncated && zero.key_count == 0);
    let capped = b
        .list(&ListOptions::default().max_keys(5000))
        .await
        .unwrap();
    assert_eq!(capped.max_keys, 1000);

    let two = b.list(&ListOptions::default().max_keys(2)).await.unwrap();
    assert_eq!(keys_of(&two), ["a/1", "a/2"]);
    assert!(two.is_truncated);
    let token = two.next_continuation_token.clone().unwrap();
    let rest = b
        .list(&ListOptions::default().continuation_token(token.clone()))
        .await
        .unwrap();
    assert_eq!(keys_of(&rest), ["ab", "b/1", "c"]);
    // A token takes precedence over start-after, as in S3.
    let both = b
        .list(
            &ListOptions::default()
                .continuation_token(token)
                .start_after("b"),
        )
        .await
        .unwrap();
    assert_eq!(keys_of(&both), ["ab", "b/1", "c"]);
    let exact = b.list(&ListOptions::default().max_keys(5)).await.unwrap();
    assert!(
        !exact.is_truncated,
        "a page that ends exactly at the last key is not truncated"
    );

    let err = b
        .list(&ListOptions::default().continuation_token("not-a-token!"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidArgument", 400));
    assert!(err.to_string().contains("continuation-token"), "{err}");
}

/// Delimiters: common prefixes, counted against max-keys, paginated by token, multi-byte delimiters.
pub async fn list_delimiter(store: &Store, _clock: &ManualClock) {
    let b = fill(
        store,
        "delim",
        &[
            "a/1",
            "a/2/x",
            "a/3",
            "b",
            "c/1",
            "c/2",
            "d/",
            "d//e",
            "e",
            "photos/2024/jan/1.jpg",
            "photos/2024/feb/2.jpg",
            "photos/index",
        ],
    )
    .await;
    let page = b
        .list(&ListOptions::default().delimiter("/"))
        .await
        .unwrap();
    assert_eq!(keys_of(&page), ["b", "e"]);
    assert_eq!(page.common_prefixes, ["a/", "c/", "d/", "photos/"]);
    assert_eq!(page.key_count, 6);

    let page = b
        .list(&ListOptions::default().prefix("a/").delimiter("/"))
        .await
        .unwrap();
    assert_eq!(keys_of(&page), ["a/1", "a/3"]);
    assert_eq!(page.common_prefixes, ["a/2/"]);
    let page = b
        .list(&ListOptions::default().prefix("d/").delimiter("/"))
        .await
        .unwrap();
    assert_eq!(keys_of(&page), ["d/"]);
    assert_eq!(page.common_prefixes, ["d//"]);
    let page = b
        .list(&ListOptions::default().prefix("photos/2024/").delimiter("/"))
        .await
        .unwrap();
    assert_eq!(
        page.common_prefixes,
        ["photos/2024/feb/", "photos/2024/jan/"]
    );

    // Paginate one entry at a time: prefixes and keys interleave in order, each once.
    let mut opts = ListOptions::default().delimiter("/").max_keys(1);
    let mut seen = Vec::new();
    loop {
        let page = b.list(&opts).await.unwrap();
        assert_eq!(page.key_count, 1);
        seen.extend(page.common_prefixes.iter().cloned());
        seen.extend(page.objects.iter().map(|m| m.key.clone()));
        match page.next_continuation_token {
            Some(t) => opts.continuation_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, ["a/", "b", "c/", "d/", "e", "photos/"]);

    let page = b
        .list(&ListOptions::default().delimiter("/2"))
        .await
        .unwrap();
    assert!(
        page.common_prefixes.contains(&"a/2".to_string())
            && page.common_prefixes.contains(&"photos/2".to_string())
    );
    assert!(page.common_prefixes.contains(&"c/2".to_string()));
}

/// Pagination over many keys with every page size returns each key once, in order.
pub async fn list_pagination(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("pages").await.unwrap();
    let keys: Vec<String> = (0..2500).map(|i| format!("k/{i:05}")).collect();
    for k in &keys {
        b.put(k, "").await.unwrap();
    }
    let first = b.list(&ListOptions::default()).await.unwrap();
    assert_eq!(first.objects.len(), 1000);
    assert!(first.is_truncated);
    assert_eq!(b.list_all("").await.unwrap().len(), 2500);
    for page_size in [1, 7, 999, 1000] {
        let mut opts = ListOptions::default().prefix("k/").max_keys(page_size);
        let mut got = Vec::new();
        let mut pages = 0;
        loop {
            let page = b.list(&opts).await.unwrap();
            assert!(page.objects.len() <= page_size);
            pages += 1;
            got.extend(page.objects.iter().map(|m| m.key.clone()));
            match page.next_continuation_token {
                Some(t) => opts.continuation_token = Some(t),
                None => break,
            }
        }
        assert_eq!(got, keys, "page size {page_size}");
        assert_eq!(
            pages,
            keys.len().div_ceil(page_size),
            "page size {page_size}"
        );
    }
}

/// Keys list in UTF-8 binary order (not locale, not UTF-16 order).
pub async fn list_order(store: &Store, _clock: &ManualClock) {
    let keys = [
        "\u{1F600}",
        "\u{FF61}",
        "é",
        "z",
        "a",
        "Z",
        "0",
        "~",
        " ",
        "a/b",
        "a-b",
        "a.b",
        "\u{7F}",
    ];
    let b = fill(store, "order", &keys).await;
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    let page = b.list(&ListOptions::default()).await.unwrap();
    assert_eq!(keys_of(&page), expected);
    // UTF-16 order would put U+FF61 after U+1F600 (a surrogate pair starts 0xD83D); UTF-8 does not.
    let pos = |k: &str| expected.iter().position(|x| *x == k).unwrap();
    assert!(pos("\u{FF61}") < pos("\u{1F600}"));
}
