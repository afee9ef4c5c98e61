//! The web catalogue in a real browser: Debian's chromium driven over WebDriver
//! (chromedriver + fantoccini) against real servers on loopback, axe-core for
//! accessibility, and screenshots of each page written to `target/web-screenshots/`.
//!
//! The set-up installs `chromium` and `chromium-driver` with apt-get and `axe-core` with
//! npm when they are missing; the browser trusts exactly the gateway's certificate (its
//! public key is pinned), and the test stops the browser, the driver and every server.

mod web_support;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, key::Key};
use serde_json::{Value, json};
use web_support::{WebFederation, server_errors};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Installs the browser and its driver from Debian when missing.
fn ensure_browser() {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return;
    }
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "chromium and chromium-driver are needed: apt-get install -y chromium chromium-driver"
    );
}

/// The axe-core script, installed from npm into `target/web-tools/` when missing.
fn axe_script() -> String {
    let dir = fixture::repo_path("target/web-tools");
    let script = dir.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        std::fs::create_dir_all(&dir).expect("target/web-tools");
        let _ = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&dir)
            .arg("axe-core")
            .status();
    }
    std::fs::read_to_string(&script).unwrap_or_else(|e| {
        panic!(
            "axe-core is needed ({}): {e}; run npm install axe-core",
            script.display()
        )
    })
}

fn screenshots() -> PathBuf {
    let dir = fixture::repo_path("target/web-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Self { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, spki: &str, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--lang=nb",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--user-data-dir={}", profile.display()),
        format!("--ignore-certificate-errors-spki-list={spki}"),
    ])
    .collect::<Vec<_>>();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args, "prefs": {"intl.accept_languages": "nb"}}),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    // Chromium starts slowly on a loaded machine: up to 60 s.
    for _ in 0..600 {
        let connected =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await;
        if let Ok(client) = connected {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not accept a session");
}

async fn find(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element `{css}`: {e}"))
}

async fn text(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.expect("element text")
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Runs axe-core on the page; fails on any serious or critical violation.
async fn accessible(client: &Client, axe: &str, page: &str) {
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations\
               .filter(v => v.impact === 'serious' || v.impact === 'critical')\
               .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +\
                 v.nodes.map(n => n.target.join(' ')).join(', '))))\
             .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    let violations: Vec<Value> = found.as_array().cloned().unwrap_or_default();
    assert!(violations.is_empty(), "{page}: {violations:#?}");
}

async fn checked(element: &Element) -> bool {
    element.prop("checked").await.ok().flatten().as_deref() == Some("true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_researcher_finds_mfr_plans_an_application_and_sees_an_outage() {
    ensure_browser();
    let axe = axe_script();
    let mut web = WebFederation::start(|c| {
        // Short lifetimes, so that a stopped custodian shows as stale within the test.
        c.cache.catalogue_ttl_ms = 300;
        c.cache.record_ttl_ms = 300;
        c.defaults.timeout_ms = 500;
    })
    .await;
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("browser profile");
    let client = browser(&driver, &web.spki_sha256(), profile.path()).await;

    // Search by keyboard: the skip link comes first, the query is typed and sent with Enter.
    client.goto(&web.url("/")).await.expect("search page");
    assert_eq!(
        text(&client, "h1").await,
        "Søk i helsedata",
        "bokmål by default"
    );
    client
        .execute("document.body.focus();", vec![])
        .await
        .expect("focus");
    find(&client, "body")
        .await
        .send_keys(&Key::Tab.to_string())
        .await
        .expect("tab");
    let first = client
        .execute("return document.activeElement.className;", vec![])
        .await
        .expect("focused element");
    assert_eq!(first, json!("skip"), "the first stop is the skip link");
    let q = find(&client, "#q").await;
    q.send_keys("fødselsregister").await.expect("type");
    q.send_keys(&Key::Enter.to_string()).await.expect("enter");
    find(&client, ".result").await;
    let results = text(&client, ".result-list").await;
    assert!(results.contains("Medisinsk fødselsregister"), "{results}");
    assert!(
        results.contains("Folkehelseinstituttet"),
        "the custodian is shown: {results}"
    );
    let facets = text(&client, ".facets").await;
    for facet in [
        "Forvalter",
        "Type",
        "Samtykke",
        "Identifiserbarhet",
        "År",
        "HAP-fase",
        "Søknadskanal",
    ] {
        assert!(facets.contains(facet), "facet {facet} missing: {facets}");
    }
    let freshness = find(&client, ".result .freshness").await;
    assert!(
        matches!(
            freshness
                .attr("data-freshness")
                .await
                .ok()
                .flatten()
                .as_deref(),
            Some("live" | "cached")
        ),
        "a fresh result is live or cached"
    );
    accessible(&client, &axe, "search").await;
    shoot(&client, "search").await;

    // Open MFR and put it in the basket.
    find(&client, ".result h3 a[href='/sources/mfr']")
        .await
        .click()
        .await
        .expect("open MFR");
    assert!(
        text(&client, "h1")
            .await
            .contains("Medisinsk fødselsregister")
    );
    let facts = text(&client, ".source").await;
    for fact in [
        "Dataansvarlig",
        "Rettslig grunnlag",
        "Samtykke",
        "Identifiserbarhet",
        "Årganger",
        "Variabler",
        "Opphav",
        "Behandles av",
        "Kanal",
    ] {
        assert!(facts.contains(fact), "fact {fact} missing");
    }
    // The effective route: the national rules move MFR to the common form, decided by
    // Helsedataservice; the rules behind it are listed.
    let effective = text(&client, ".effective-route").await;
    assert!(
        effective.contains("Slik søker du etter de nasjonale reglene"),
        "{effective}"
    );
    assert_eq!(
        text(&client, ".effective-route .effective-channel").await,
        "Søknadsskjema på helsedata.no"
    );
    assert_eq!(
        text(&client, ".effective-route .effective-decided-by").await,
        "Helsedataservice"
    );
    assert!(effective.contains("Utleveres av"), "{effective}");
    find(&client, ".effective-route details summary")
        .await
        .click()
        .await
        .expect("open the rules applied");
    let applied = text(&client, ".effective-route details").await;
    assert!(
        applied.contains("Helsedataservice beslutter") && applied.contains("Siden 2023-03-15"),
        "the rules applied, in bokmål: {applied}"
    );
    find(&client, "#variables table tbody tr").await;
    accessible(&client, &axe, "source").await;
    shoot(&client, "source").await;
    find(&client, "button.basket-add[data-id='mfr']")
        .await
        .click()
        .await
        .expect("add MFR");

    // Find NPR somatikk and add it too; the basket survives a reload.
    client.goto(&web.url("/?q=somatikk")).await.expect("search");
    find(&client, "button.basket-add[data-id='npr-somatikk']")
        .await
        .click()
        .await
        .expect("add NPR");
    client.refresh().await.expect("reload");
    assert_eq!(
        text(&client, "#basket-count").await,
        "2",
        "the basket survives a reload"
    );

    // Plan: research, new project, identifiable data.
    find(&client, "header nav a[href='/plan']")
        .await
        .click()
        .await
        .expect("plan page");
    assert!(checked(&find(&client, "#source-mfr").await).await);
    assert!(checked(&find(&client, "#source-npr-somatikk").await).await);
    find(&client, "#purpose")
        .await
        .select_by_value("PURPOSE_RESEARCH")
        .await
        .expect("purpose");
    find(&client, "#stage")
        .await
        .select_by_value("PROJECT_STAGE_NEW")
        .await
        .expect("stage");
    find(&client, "#level")
        .await
        .select_by_value("DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL")
        .await
        .expect("level");
    find(&client, "#make-plan")
        .await
        .click()
        .await
        .expect("make the plan");
    find(&client, ".application").await;
    let applications = client
        .find_all(Locator::Css(".application"))
        .await
        .expect("applications");
    assert_eq!(applications.len(), 1, "one application covers both sources");
    assert_eq!(
        text(&client, ".application h3").await,
        "Søknadsskjema på helsedata.no"
    );
    assert_eq!(
        text(&client, ".application .decided-by").await,
        "Helsedataservice"
    );
    let deadlines = text(&client, ".application .deadlines").await;
    assert!(
        deadlines.contains("60 virkedager for en søknad som gjelder flere kilder"),
        "the deadline in bokmål: {deadlines}"
    );
    let address = find(&client, ".application a.address").await;
    assert_eq!(
        address.attr("href").await.ok().flatten().as_deref(),
        Some("https://helsedata.no")
    );
    let plan_text = text(&client, "#plan").await;
    assert!(
        plan_text.contains("Sjekkliste") && plan_text.contains("Klage"),
        "{plan_text}"
    );
    // Notes, prerequisites, invoices and appeals in bokmål too.
    for words in [
        "Behandlingstid i praksis",
        "Godkjenning av forskningsprosjektet fra regional komité",
        "mottak og behandling av søknaden",
        "3 uker fra den dagen vedtaket ble mottatt",
    ] {
        assert!(plan_text.contains(words), "{words} missing: {plan_text}");
    }
    client
        .set_window_size(1280, 2600)
        .await
        .expect("tall window");
    client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    shoot(&client, "plan").await;
    find(&client, "details.trace summary")
        .await
        .click()
        .await
        .expect("open the rule trace");
    let trace = text(&client, "details.trace").await;
    assert!(
        trace.contains("de nasjonale reglene")
            && trace.contains("forvalteren fhi")
            && trace.contains("Planlagt for forskning, et nytt prosjekt"),
        "the rule trace in bokmål: {trace}"
    );
    accessible(&client, &axe, "plan").await;
    shoot(&client, "plan-trace").await;
    client.set_window_size(1280, 1000).await.expect("window");
    let pdf = client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("print");
    assert!(pdf.starts_with(b"%PDF"), "the plan prints");
    std::fs::write(screenshots().join("plan.pdf"), pdf).expect("write PDF");

    // The permalink reproduces the plan in a fresh page.
    let permalink = find(&client, "#permalink")
        .await
        .prop("href")
        .await
        .ok()
        .flatten()
        .expect("permalink");
    client.goto("about:blank").await.expect("blank");
    client.goto(&permalink).await.expect("permalink");
    assert_eq!(
        text(&client, ".application .decided-by").await,
        "Helsedataservice"
    );
    assert_eq!(
        client
            .find_all(Locator::Css(".application"))
            .await
            .expect("applications")
            .len(),
        1
    );

    // The same plan in English, one click away.
    find(&client, "#lang-switch")
        .await
        .click()
        .await
        .expect("switch language");
    find(&client, ".application").await;
    assert_eq!(
        text(&client, ".application h3").await,
        "Application form on helsedata.no"
    );
    let deadlines = text(&client, ".application .deadlines").await;
    assert!(
        deadlines.contains("60 working days for an application that concerns several sources"),
        "the deadline in English: {deadlines}"
    );
    let plan_text = text(&client, "#plan").await;
    assert!(
        plan_text.contains("Processing time seen in practice")
            && plan_text.contains("3 weeks from the day the decision was received"),
        "{plan_text}"
    );
    shoot(&client, "plan-en").await;
    // Back to bokmål for the rest.
    find(&client, "#lang-switch")
        .await
        .click()
        .await
        .expect("switch language back");
    find(&client, ".application").await;

    // A custodian stops: the search names it and shows its sources as stale with their age.
    client
        .goto(&web.url("/?custodian=kreftregisteret"))
        .await
        .expect("search");
    find(&client, ".result").await;
    web.stop_custodian("kreftregisteret").await;
    // Let the last good answer age a little, so that its age is visible.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut banner = String::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        client.refresh().await.expect("reload");
        if let Ok(found) = client.find(Locator::Css("#unavailable")).await {
            banner = found.text().await.unwrap_or_default();
            let stale = client
                .find_all(Locator::Css(".result .freshness[data-freshness='stale']"))
                .await
                .map(|v| v.len())
                .unwrap_or_default();
            if stale > 0 {
                break;
            }
        }
    }
    assert!(
        banner.contains("Kreftregisteret"),
        "the banner names the custodian: {banner}"
    );
    assert!(
        banner.contains("utilgjengelig") || banner.contains("svarte ikke"),
        "{banner}"
    );
    let stale = text(&client, ".result .freshness").await;
    let age: u64 = stale
        .strip_prefix("utdatert, ")
        .and_then(|rest| rest.strip_suffix(" s gammel"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("stale with its age in seconds: {stale}"));
    assert!(age >= 1, "{stale}");
    shoot(&client, "search-unavailable").await;

    // One click to English: the names are the English ones.
    client.goto(&web.url("/sources/mfr")).await.expect("MFR");
    find(&client, "#lang-switch")
        .await
        .click()
        .await
        .expect("switch language");
    assert_eq!(
        text(&client, "h1").await,
        "Medical Birth Registry of Norway"
    );
    assert!(text(&client, "main").await.contains("Variables"));
    client
        .goto(&web.url("/?q=fodselsregister"))
        .await
        .expect("search in English");
    assert_eq!(
        text(&client, "h1").await,
        "Search health data",
        "the choice is remembered"
    );
    shoot(&client, "search-en").await;

    client.close().await.expect("browser closes");
    drop(driver);
    let errors: Vec<String> = server_errors();
    assert!(errors.is_empty(), "{errors:#?}");
    web.stop().await;
}
