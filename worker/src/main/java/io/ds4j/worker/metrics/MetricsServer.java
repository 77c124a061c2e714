package io.ds4j.worker.metrics;

import com.sun.net.httpserver.HttpExchange;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The worker's Prometheus endpoint: {@code GET /metrics} answers a scrape of a {@link WorkerMetrics} (text format
 * 0.0.4, {@code Content-Type: text/plain; version=0.0.4}, or OpenMetrics or protobuf when the scraper's
 * {@code Accept} asks for them), {@code GET /} a one-line hint. It is the official Prometheus client's
 * {@link HTTPServer} (see {@link WorkerMetrics} for why), on the JDK's built-in HTTP server with its own small
 * pool of daemon threads, so a scrape never takes a thread from the worker's client server.
 *
 * <p>The worker starts one when {@code --metrics_port} is not 0 ({@link #startIfEnabled}) and closes it on shutdown.
 * Note: loading the client's {@code HTTPServer} sets the JDK HTTP server's {@code sun.net.httpserver.maxReqTime}
 * (60 s) and {@code maxRspTime} (600 s) system properties when they are unset, for every JDK HTTP server in the JVM.
 */
public final class MetricsServer implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
    /** What {@code GET /} answers. */
    static final String HINT = "ds4j worker: Prometheus metrics are at /metrics\n";

    private final WorkerMetrics metrics;
    private HTTPServer server;
    private String host;

    public MetricsServer(final WorkerMetrics metrics)
    {
        this.metrics = metrics;
    }

    /**
     * Starts a server for {@code metrics} as the {@code metrics_port} flag asks: none when it is 0 (metrics off),
     * else one listening on {@code host:metricsPort}.
     *
     * @throws IOException naming the port when it cannot be bound
     */
    public static Optional<MetricsServer> startIfEnabled(final WorkerMetrics metrics, final String host,
        final int metricsPort) throws IOException
    {
        if (metricsPort == 0)
        {
            return Optional.empty();
        }
        final MetricsServer server = new MetricsServer(metrics);
        server.start(host, metricsPort);
        return Optional.of(server);
    }

    /**
     * Listens on {@code host:port} ({@code host} null or empty: every interface) and serves until {@link #close}.
     * Port 0 takes a free ephemeral port ({@link #port()} tells which); that is for tests, the worker's
     * {@code --metrics_port=0} means no server at all.
     *
     * @throws IOException naming the port and what to do when it cannot be bound (e.g. it is in use)
     */
    public synchronized void start(final String host, final int port) throws IOException
    {
        if (server != null)
        {
            throw new IllegalStateException("the metrics server already listens on port " + server.getPort());
        }
        if (port < 0 || port > 65_535)
        {
            throw new IllegalArgumentException("metrics port " + port + " is out of range: use 1-65535,"
                + " or --metrics_port=0 to turn metrics off");
        }
        final String bindHost = host == null || host.isEmpty() ? "0.0.0.0" : host;
        try
        {
            server = HTTPServer.builder()
                .hostname(bindHost)
                .port(port)
                .registry(metrics.registry())
                .defaultHandler(MetricsServer::hint)
                .buildAndStart();
        }
        catch (final BindException e)
        {
            final BindException clear = new BindException("cannot serve metrics on " + bindHost + ":" + port + " ("
                + e.getMessage() + "): the port is in use or not allowed; pick another --metrics_port,"
                + " or --metrics_port=0 to turn metrics off");
            clear.initCause(e);
            throw clear;
        }
        catch (final IOException e)
        {
            throw new IOException("cannot serve metrics on " + bindHost + ":" + port + " (" + e.getMessage()
                + "); check the worker's host, pick another --metrics_port, or --metrics_port=0 to turn metrics off",
                e);
        }
        this.host = bindHost;
        LOG.info("metrics at http://{}:{}/metrics", bindHost, server.getPort());
    }

    /** The port it listens on (the chosen one when started with port 0). */
    public synchronized int port()
    {
        if (server == null)
        {
            throw new IllegalStateException("the metrics server is not started");
        }
        return server.getPort();
    }

    /** {@code host:port} as bound, for logs. */
    public synchronized String address()
    {
        return host + ":" + port();
    }

    /** Stops listening; in-flight scrapes are cut. Idempotent. */
    @Override
    public synchronized void close()
    {
        if (server != null)
        {
            server.close();
            server = null;
        }
    }

    /** {@code /}: the hint; any other path but /metrics: 404 with the same hint. */
    private static void hint(final HttpExchange exchange) throws IOException
    {
        try (exchange)
        {
            final String method = exchange.getRequestMethod();
            final byte[] body = HINT.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            if (!"GET".equals(method) && !"HEAD".equals(method))
            {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            final int status = "/".equals(exchange.getRequestURI().getPath()) ? 200 : 404;
            if ("HEAD".equals(method))
            {
                exchange.sendResponseHeaders(status, -1);
                return;
            }
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody())
            {
                out.write(body);
            }
        }
    }
}
