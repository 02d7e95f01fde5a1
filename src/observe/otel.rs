//! OpenTelemetry traces (cargo feature `otel`): the request and native-call spans exported over
//! OTLP/HTTP to the endpoint the standard `OTEL_EXPORTER_OTLP_ENDPOINT` variable names.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A tracing layer exporting spans, when an OTLP endpoint is configured. The provider must be
/// kept alive (and shut down at exit to flush).
pub fn layer<S>()
-> Option<(tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>, SdkTracerProvider)>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty())?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scimgate: OpenTelemetry export is off: {e}");
            return None;
        }
    };
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("scimgate").build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("scimgate");
    Some((tracing_opentelemetry::layer().with_tracer(tracer), provider))
}
