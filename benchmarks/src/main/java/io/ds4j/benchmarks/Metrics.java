package io.ds4j.benchmarks;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * One scrape of a worker's Prometheus endpoint ({@code --metrics_port}, {@code GET /metrics}): every sample by its
 * name and labels as printed, e.g. {@code ds4j_hits_total{tier="spill"}}. The tiers scenarios read the worker's own
 * counters with it, to check that what they time is what they claim (every get a spill hit, every set written
 * through) and to read the pool's capacity and resident bytes.
 */
record Metrics(Map<String, Double> samples)
{
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static Metrics scrape(final int port) throws IOException
    {
        final HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
            .timeout(Duration.ofSeconds(10)).GET().build();
        final String body;
        try
        {
            final HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200)
            {
                throw new IOException("GET /metrics on port " + port + " answered " + response.statusCode());
            }
            body = response.body();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while scraping the worker's metrics", e);
        }
        final Map<String, Double> samples = new HashMap<>();
        for (final String line : body.split("\n"))
        {
            if (line.isBlank() || line.startsWith("#"))
            {
                continue;
            }
            final int space = line.lastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }
            try
            {
                samples.put(line.substring(0, space).strip(), Double.parseDouble(line.substring(space + 1)));
            }
            catch (final NumberFormatException ignored)
            {
                // not a sample line
            }
        }
        return new Metrics(samples);
    }

    /** The sample, or NaN when the worker does not show it. */
    double get(final String nameAndLabels)
    {
        return samples.getOrDefault(nameAndLabels, Double.NaN);
    }

    /** {@code ds4j_hits_total{tier="..."}}. */
    double hits(final String tier)
    {
        return get("ds4j_hits_total{tier=\"" + tier + "\"}");
    }

    /** The change of a sample since {@code before}. */
    double delta(final Metrics before, final String nameAndLabels)
    {
        return get(nameAndLabels) - before.get(nameAndLabels);
    }
}
