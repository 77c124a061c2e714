package io.ds4j.worker.metrics;

import io.ds4j.worker.metrics.WorkerMetrics.EvictionAction;
import io.ds4j.worker.metrics.WorkerMetrics.L2WriteResult;
import io.ds4j.worker.metrics.WorkerMetrics.Tier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The endpoint over real HTTP, on a free loopback port. */
class MetricsServerTest
{
    private static final String HOST = "127.0.0.1";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final WorkerMetrics metrics = new WorkerMetrics();
    private final AtomicLong memoryBytes = new AtomicLong(1000);
    private MetricsServer server;

    @BeforeEach
    void start() throws IOException
    {
        WorkerMetricsTest.registerAll(metrics, memoryBytes);
        server = new MetricsServer(metrics);
        server.start(HOST, 0);
    }

    @AfterEach
    void stop()
    {
        server.close();
        http.close();
    }

    private HttpResponse<String> get(final String path, final String accept) throws IOException, InterruptedException
    {
        return get(server.port(), path, accept);
    }

    private HttpResponse<String> get(final int port, final String path, final String accept)
        throws IOException, InterruptedException
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(
            URI.create("http://" + HOST + ":" + port + path)).timeout(Duration.ofSeconds(10));
        if (accept != null)
        {
            request.header("Accept", accept);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Map<String, ExpositionChecker.Family> scrape() throws IOException, InterruptedException
    {
        final HttpResponse<String> response = get("/metrics", null);
        assertEquals(200, response.statusCode());
        return ExpositionChecker.parse(response.body());
    }

    @Test
    void scrapeIsTextFormat004WithEveryFamily() throws Exception
    {
        final HttpResponse<String> response = get("/metrics", null);
        assertEquals(200, response.statusCode());
        final String contentType = response.headers().firstValue("Content-Type").orElseThrow();
        assertTrue(contentType.startsWith("text/plain; version=0.0.4"), contentType);
        final String body = response.body();
        final Map<String, ExpositionChecker.Family> families = ExpositionChecker.parse(body);
        assertEquals(WorkerMetricsTest.FAMILIES.keySet(), families.keySet());
        WorkerMetricsTest.FAMILIES.forEach((name, type) ->
        {
            assertTrue(body.contains("# TYPE " + name + " " + type + "\n"), name);
            assertTrue(body.contains("# HELP " + name + " "), name);
        });
        assertTrue(body.contains("ds4j_tier_bytes{tier=\"memory\"} 1000"), body);
        assertTrue(body.contains("ds4j_evictions_total{action=\"free_memory\"} 0"), body);
        assertTrue(body.contains("ds4j_l2_writes_total{result=\"ok\"} 0"), body);
        assertEquals(body, metrics.scrape(), "WorkerMetrics.scrape() is what the endpoint serves");
    }

    @Test
    void countersIncreaseAndGaugesFollowTheirCallbacks() throws Exception
    {
        final Map<String, ExpositionChecker.Family> first = scrape();
        assertEquals(0, first.get("ds4j_hits_total").value("ds4j_hits_total", "tier", "memory"));
        assertEquals(1000, first.get("ds4j_tier_bytes").value("ds4j_tier_bytes", "tier", "memory"));

        metrics.hits(Tier.MEMORY).add(7);
        metrics.hits(Tier.L2).inc();
        metrics.misses().add(2);
        metrics.evictions(EvictionAction.DROP).inc();
        metrics.spills().add(3);
        metrics.l2Writes(L2WriteResult.OK).add(4);
        memoryBytes.set(123_456_789_012L);

        final Map<String, ExpositionChecker.Family> second = scrape();
        assertEquals(7, second.get("ds4j_hits_total").value("ds4j_hits_total", "tier", "memory"));
        assertEquals(1, second.get("ds4j_hits_total").value("ds4j_hits_total", "tier", "l2"));
        assertEquals(0, second.get("ds4j_hits_total").value("ds4j_hits_total", "tier", "spill"));
        assertEquals(2, second.get("ds4j_misses_total").value("ds4j_misses_total"));
        assertEquals(1, second.get("ds4j_evictions_total").value("ds4j_evictions_total", "action", "drop"));
        assertEquals(3, second.get("ds4j_spills_total").value("ds4j_spills_total"));
        assertEquals(4, second.get("ds4j_l2_writes_total").value("ds4j_l2_writes_total", "result", "ok"));
        assertEquals(123_456_789_012L, (long) second.get("ds4j_tier_bytes").value("ds4j_tier_bytes", "tier",
            "memory"));

        metrics.hits(Tier.MEMORY).inc();
        assertEquals(8, scrape().get("ds4j_hits_total").value("ds4j_hits_total", "tier", "memory"));
    }

    @Test
    void rootAnswersAOneLineHintAndOtherPaths404() throws Exception
    {
        final HttpResponse<String> root = get("/", null);
        assertEquals(200, root.statusCode());
        assertEquals(MetricsServer.HINT, root.body());
        assertEquals(1, root.body().lines().count());
        assertTrue(root.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain"));
        assertEquals(404, get("/nothing-here", null).statusCode());
    }

    @Test
    void secondServerOnTheSamePortFailsClearly() throws Exception
    {
        final int port = server.port();
        try (MetricsServer second = new MetricsServer(new WorkerMetrics()))
        {
            final BindException e = assertThrows(BindException.class, () -> second.start(HOST, port));
            assertTrue(e.getMessage().contains(HOST + ":" + port), e.getMessage());
            assertTrue(e.getMessage().contains("pick another --metrics_port"), e.getMessage());
            assertThrows(IllegalStateException.class, second::port, "a failed start leaves it stopped");
        }
        assertEquals(200, get("/metrics", null).statusCode(), "the first server still serves");
    }

    @Test
    void closeFreesThePortAndStopsServing() throws Exception
    {
        final int port = server.port();
        server.close();
        server.close();
        assertThrows(ConnectException.class, () -> get(port, "/metrics", null));
        server = new MetricsServer(metrics);
        server.start(HOST, port);
        assertEquals(port, server.port());
        assertEquals(200, get("/metrics", null).statusCode());
        assertThrows(IllegalStateException.class, () -> server.start(HOST, port), "already started");
    }

    @Test
    void portZeroFlagMeansNoServer() throws IOException
    {
        assertEquals(Optional.empty(), MetricsServer.startIfEnabled(metrics, HOST, 0));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new MetricsServer(metrics).start(HOST, 70_000));
        assertTrue(e.getMessage().contains("70000"), e.getMessage());
    }

    @Test
    void startIfEnabledServesOnTheGivenPort() throws Exception
    {
        final int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(HOST)))
        {
            port = probe.getLocalPort();
        }
        final Optional<MetricsServer> started = MetricsServer.startIfEnabled(metrics, HOST, port);
        assertTrue(started.isPresent());
        try (MetricsServer other = started.orElseThrow())
        {
            assertEquals(port, other.port());
            assertEquals(HOST + ":" + port, other.address());
        }
    }

    @Test
    void openMetricsAndProtobufAreNegotiated() throws Exception
    {
        final HttpResponse<String> openMetrics = get("/metrics",
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
        assertEquals(200, openMetrics.statusCode());
        assertTrue(openMetrics.headers().firstValue("Content-Type").orElseThrow()
            .startsWith("application/openmetrics-text"));
        assertTrue(openMetrics.body().endsWith("# EOF\n"), openMetrics.body());
        assertTrue(openMetrics.body().contains("ds4j_hits_total{tier=\"memory\"} 0"), openMetrics.body());

        final HttpRequest protobuf = HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + server.port()
            + "/metrics")).header("Accept",
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
            .build();
        final HttpResponse<byte[]> response = http.send(protobuf, HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode(), "the protobuf format Prometheus asks for with native histograms");
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow()
            .startsWith("application/vnd.google.protobuf"));
        assertFalse(response.body().length == 0);
    }
}
