//! Token attacks, hostile input, login rate limit, WebSocket origin check.

use aviary_core::DroneId;
use aviary_core::auth::Role;
use serde_json::json;

use crate::common::{self, Http};

fn b64(bytes: &[u8]) -> String {
    // URL-safe base64 without padding, as JWTs use.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_attacks_are_rejected() {
    let Some((pg, mh, mp)) = common::services() else {
        return;
    };
    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let cfg = common::config(
        &pg,
        &mh,
        mp,
        &schema,
        &format!("tokens-{}", uuid::Uuid::new_v4().simple()),
    );
    let secret = cfg.jwt_secret.clone();
    let server = aviary_server::start_with_cost(cfg, common::TEST_COST)
        .await
        .expect("start");
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "tok", DroneId::new_random()).await;
    let good = org.token(Role::Analyst).to_owned();
    let (st, _) = http.call("GET", "/api/v1/drones", Some(&good), None).await;
    assert_eq!(st, 200, "the genuine token works");

    let parts: Vec<&str> = good.split('.').collect();
    let claims: serde_json::Value = {
        use jsonwebtoken::{DecodingKey, Validation};
        let mut v = Validation::new(jsonwebtoken::Algorithm::HS256);
        v.insecure_disable_signature_validation();
        v.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&good, &DecodingKey::from_secret(b""), &v)
            .expect("decode")
            .claims
    };
    let sign = |header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]| {
        let h: jsonwebtoken::Header = serde_json::from_value(header.clone()).expect("header");
        jsonwebtoken::encode(&h, claims, &jsonwebtoken::EncodingKey::from_secret(key))
            .expect("sign")
    };
    let hs256 = json!({ "alg": "HS256", "typ": "JWT" });
    let with = |k: &str, v: serde_json::Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let now = chrono::Utc::now().timestamp();
    let attacks: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]),
            "token",
        ),
        (
            "alg HS512",
            sign(&json!({ "alg": "HS512", "typ": "JWT" }), &claims, &secret),
            "token algorithm not accepted",
        ),
        (
            "expired",
            sign(&hs256, &with("exp", json!(now - 10)), &secret),
            "token expired",
        ),
        (
            "wrong audience",
            sign(&hs256, &with("aud", json!("someone-else")), &secret),
            "token has the wrong audience",
        ),
        (
            "wrong issuer",
            sign(&hs256, &with("iss", json!("evil")), &secret),
            "token has the wrong issuer",
        ),
        (
            "analyst promoted to admin",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(with("role", json!("admin")).to_string().as_bytes()),
                parts[2]
            ),
            "token signature invalid",
        ),
        (
            "tampered org",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(with("org", json!(uuid::Uuid::new_v4()))
                    .to_string()
                    .as_bytes()),
                parts[2]
            ),
            "token signature invalid",
        ),
        (
            "other key",
            sign(&hs256, &claims, b"another secret that is long enough......"),
            "token signature invalid",
        ),
        (
            "no exp",
            sign(
                &hs256,
                &{
                    let mut c = claims.clone();
                    c.as_object_mut().expect("obj").remove("exp");
                    c
                },
                &secret,
            ),
            "token malformed",
        ),
        ("garbage", "not.a.jwt".to_owned(), "token malformed"),
    ];
    for (name, token, why) in &attacks {
        let (st, body) = http.call("GET", "/api/v1/drones", Some(token), None).await;
        assert_eq!(st, 401, "{name}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(why),
            "{name}: message {msg:?} should start with {why:?}"
        );
    }
    // Header forms: a non-bearer scheme is no token at all.
    let (st, raw) = http
        .raw("GET", "/api/v1/drones", None, None, Vec::new())
        .await;
    assert_eq!(st, 401, "{raw}");
    println!("token attacks rejected: {}", attacks.len());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_clear_4xx() {
    let Some((pg, mh, mp)) = common::services() else {
        return;
    };
    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let mut cfg = common::config(
        &pg,
        &mh,
        mp,
        &schema,
        &format!("input-{}", uuid::Uuid::new_v4().simple()),
    );
    cfg.login_per_minute = 3;
    let server = aviary_server::start_with_cost(cfg, common::TEST_COST)
        .await
        .expect("start");
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "inp", DroneId::new_random()).await;
    let t = org.token(Role::Operator);

    let (st, body) = http
        .raw(
            "POST",
            "/api/v1/missions",
            Some(t),
            Some("application/json"),
            b"{\"site_id\": ".to_vec(),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("malformed JSON"), "{body}");

    let mut m = common::mission_body(org.site, Some(org.drone));
    m["colour"] = json!("red");
    let (st, body) = http
        .call("POST", "/api/v1/missions", Some(t), Some(&m))
        .await;
    assert_eq!(st, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown field `colour`"),
        "{body}"
    );

    let mut m = common::mission_body(org.site, Some(org.drone));
    m["parameters"]["altitude"] = json!("high");
    let (st, body) = http
        .call("POST", "/api/v1/missions", Some(t), Some(&m))
        .await;
    assert_eq!(st, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("parameters.altitude"),
        "{body}"
    );

    let mut m = common::mission_body(org.site, Some(org.drone));
    m["survey_area"]["coordinates"] = json!([[[8.0, 95.0], [8.1, 95.0], [8.1, 95.1]]]);
    let (st, body) = http
        .call("POST", "/api/v1/missions", Some(t), Some(&m))
        .await;
    assert_eq!(st, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("latitude"),
        "{body}"
    );

    let big = vec![b' '; 128 * 1024];
    let (st, body) = http
        .raw(
            "POST",
            "/api/v1/missions",
            Some(t),
            Some("application/json"),
            big,
        )
        .await;
    assert_eq!(st, 413, "{body}");
    assert!(body.contains("too large"), "{body}");

    let (st, body) = http
        .raw(
            "POST",
            "/api/v1/missions",
            Some(t),
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("Content-Type: application/json"), "{body}");

    let (st, body) = http
        .call("GET", "/api/v1/missions/not-a-uuid", Some(t), None)
        .await;
    assert_eq!(st, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a UUID")
    );

    let (st, _) = http.call("GET", "/api/v1/nowhere", Some(t), None).await;
    assert_eq!(st, 404);

    // WebSocket from a foreign origin.
    let (_, created) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(t),
            Some(&common::mission_body(org.site, Some(org.drone))),
        )
        .await;
    let url = format!(
        "ws://{}/ws/missions/{}/live?token={t}",
        server.addr,
        created["mission_id"].as_str().expect("id")
    );
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    )
    .expect("req");
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().expect("header"));
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403);
        }
        other => panic!("foreign origin accepted: {other:?}"),
    }
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    )
    .expect("req");
    req.headers_mut()
        .insert("origin", "http://aviary.test".parse().expect("header"));
    assert!(
        tokio_tungstenite::connect_async(req).await.is_ok(),
        "the configured origin is accepted"
    );

    // Login rate limit (3 per minute per address here): the 4th attempt is 429.
    let mut codes = Vec::new();
    for _ in 0..4 {
        let (st, _) = http
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(&json!({ "email": "nobody@x.test", "password": "wrong password" })),
            )
            .await;
        codes.push(st);
    }
    // The org setup already logged in 3 times from this address.
    assert!(codes.contains(&429), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 401 || *c == 429), "{codes:?}");
    server.shutdown().await;
}
