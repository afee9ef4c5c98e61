//! Trace context crosses the wire: the custodian's request span continues the gateway's
//! custodian-call span (W3C traceparent in gRPC metadata).

use std::time::Duration;

use fixture::{Pki, bundled, gateway_client, gateway_config, start_custodian, start_gateway};
use helsedata::proto as pb;
use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{InMemorySpanExporter, SdkTracerProvider},
};
use tracing_subscriber::layer::SubscriberExt;

fn attribute(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test]
async fn the_custodian_continues_the_gateways_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber)
        .expect("only subscriber of this test binary");

    let pki = Pki::new(&["fhi"]);
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let custodian = start_custodian(&pki, "fhi", catalogue, Duration::ZERO).await;
    let gateway = start_gateway(gateway_config(&pki, &[("fhi", &custodian)])).await;
    let mut client = gateway_client(&pki, &gateway).await;
    client
        .get_data_source(pb::GetDataSourceRequest {
            id: "mfr".into(),
            view: 0,
        })
        .await
        .expect("answer");
    tokio::time::sleep(Duration::from_millis(200)).await;
    provider.force_flush().expect("flush");

    let spans = exporter.get_finished_spans().expect("spans");
    let leg = spans
        .iter()
        .find(|s| s.name == "custodian.leg")
        .expect("a span for the custodian call");
    assert_eq!(attribute(leg, "custodian").as_deref(), Some("fhi"));
    let served = spans
        .iter()
        .find(|s| {
            s.name == "grpc.request"
                && attribute(s, "rpc.method")
                    .is_some_and(|m| m.ends_with("CustodianCatalogue/GetDataSource"))
        })
        .expect("the custodian's request span");
    assert_eq!(
        served.span_context.trace_id(),
        leg.span_context.trace_id(),
        "same trace"
    );
    assert_eq!(
        served.parent_span_id,
        leg.span_context.span_id(),
        "the custodian's span is a child of the gateway's call"
    );
}
