package io.ds4j.worker.metrics;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The worker's metrics: counters it increments on hot paths and gauges it feeds through callbacks, exposed in the
 * Prometheus formats by {@link MetricsServer} (flag {@code metrics_port}).
 *
 * <h2>Metrics</h2>
 * <table>
 * <caption>what a scrape shows</caption>
 * <tr><th>name</th><th>type</th><th>labels</th><th>fed by</th></tr>
 * <tr><td>{@code ds4j_tier_bytes}</td><td>gauge</td><td>{@code tier=memory|spill|l2}</td>
 *     <td>{@link #tierBytes}</td></tr>
 * <tr><td>{@code ds4j_tier_objects}</td><td>gauge</td><td>{@code tier}</td><td>{@link #tierObjects}</td></tr>
 * <tr><td>{@code ds4j_hits_total}</td><td>counter</td><td>{@code tier}</td><td>{@link #hits}</td></tr>
 * <tr><td>{@code ds4j_misses_total}</td><td>counter</td><td></td><td>{@link #misses}: a get that found the key in
 *     no tier</td></tr>
 * <tr><td>{@code ds4j_evictions_total}</td><td>counter</td><td>{@code action=spill|drop|free_memory|delete}</td>
 *     <td>{@link #evictions}</td></tr>
 * <tr><td>{@code ds4j_spills_total}</td><td>counter</td><td></td><td>{@link #spills}</td></tr>
 * <tr><td>{@code ds4j_l2_queue_depth}</td><td>gauge</td><td></td><td>{@link #l2QueueDepth}</td></tr>
 * <tr><td>{@code ds4j_l2_writes_total}</td><td>counter</td><td>{@code result=ok|failed}</td>
 *     <td>{@link #l2Writes}</td></tr>
 * <tr><td>{@code ds4j_pool_capacity_bytes}</td><td>gauge</td><td></td><td>{@link #poolCapacityBytes}</td></tr>
 * <tr><td>{@code ds4j_clients}</td><td>gauge</td><td></td><td>{@link #clients}</td></tr>
 * <tr><td>{@code ds4j_keys}</td><td>gauge</td><td></td><td>{@link #keys}</td></tr>
 * </table>
 *
 * <h2>Using it</h2>
 * <p>Counters: every labelled series exists from construction (a scrape shows 0 rather than nothing), and
 * {@link #hits(Tier)} and its kind return the series' {@link Counter} handle. Keep the handle in a field and call
 * {@link Counter#inc()} on the hot path: a {@link LongAdder} increment, no lookup, no allocation, no lock. Where
 * the worker already keeps a count (say a {@code LongAdder} in the store's stats), {@link Counter#track} reports it
 * live instead, so nothing is counted twice.
 *
 * <p>Gauges: the worker registers a {@link LongSupplier} per gauge (or per tier) that reads the live value, e.g.
 * {@code metrics.tierBytes(Tier.MEMORY, pool::usedBytes)}; it is called at scrape time only. A gauge with no
 * supplier shows no sample (a worker without a spill directory shows no {@code tier="spill"} gauges); registering
 * again replaces the supplier. A supplier (or tracked count) that throws is logged and its sample left out of that
 * scrape: one broken callback does not hide the other metrics.
 *
 * <h2>Why the official Prometheus client, and only its exporter</h2>
 * <p>The project uses a well-kept library made for a job rather than writing it by hand. Serving Prometheus
 * metrics is such a job: {@code io.prometheus:prometheus-metrics-exporter-httpserver} (the official Java client,
 * 1.x) brings the HTTP endpoint (on the JDK's own {@code com.sun.net.httpserver}, no servlet container), content
 * negotiation between the text format 0.0.4, OpenMetrics and the protobuf format that Prometheus asks for when
 * native histograms are on, gzip, and the escaping rules of label values and help text. Its cost, measured:
 * six jars, all {@code io.prometheus}, no other third-party library: about 230 KB plus a 2 MB
 * {@code prometheus-metrics-exposition-formats} jar that carries its own shaded protobuf runtime (no clash with any
 * protobuf of ours). The protobuf jar is kept: without it a protobuf scrape fails instead of falling back to text.
 *
 * <p>A hand-written exposition (the text format 0.0.4 on the JDK's HTTP server, some 150 lines) was the other
 * choice: no jar at all, but ours to keep right as Prometheus moves on (Prometheus 3 prefers OpenMetrics and, with
 * native histograms, protobuf), which is the job the library is kept for.
 *
 * <p>The client's {@code prometheus-metrics-core} (its Counter and Gauge classes) is deliberately not used: it would
 * add a second dependency and four tracer jars (its increments carry exemplar-sampling hooks for OpenTelemetry
 * tracing), for what is here a {@code LongAdder} and a callback. The counters and gauges of this class are read
 * through the client's own extension point ({@link MultiCollector}, from {@code prometheus-metrics-model}) into its
 * snapshots, so the exposition itself is entirely the library's.
 *
 * <p>Thread-safe. Each instance has its own {@link PrometheusRegistry} (not the client's global default registry),
 * so several workers in one JVM (tests) do not mix their metrics.
 */
public final class WorkerMetrics
{
    private static final Logger LOG = LoggerFactory.getLogger(WorkerMetrics.class);

    /** A storage tier, the value of the {@code tier} label. */
    public enum Tier
    {
        /** The shared-memory pool. */
        MEMORY,
        /** The local spill directory. */
        SPILL,
        /** The second level (e.g. sfs). */
        L2;

        private final String label = name().toLowerCase(Locale.ROOT);

        /** The label value, e.g. {@code "memory"}. */
        public String label()
        {
            return label;
        }
    }

    /** What an eviction did with an object, the value of the {@code action} label. */
    public enum EvictionAction
    {
        /** Written to the spill tier, then its memory freed. */
        SPILL,
        /** A droppable object whose life ended. */
        DROP,
        /** Only the memory copy freed: spill or L2 already has it. */
        FREE_MEMORY,
        /** Removed from every tier (e.g. a TTL expiry). */
        DELETE;

        private final String label = name().toLowerCase(Locale.ROOT);

        /** The label value, e.g. {@code "free_memory"}. */
        public String label()
        {
            return label;
        }
    }

    /** How a write to L2 ended, the value of the {@code result} label. */
    public enum L2WriteResult
    {
        /** The object is in L2. */
        OK,
        /** The write failed (it may be retried, and counted again). */
        FAILED;

        private final String label = name().toLowerCase(Locale.ROOT);

        /** The label value, e.g. {@code "ok"}. */
        public String label()
        {
            return label;
        }
    }

    /**
     * One counter series (a metric with its label values fixed), the handle a hot path keeps. Monotonic: its value is
     * the sum of its increments plus the current value of the count it {@linkplain #track tracks}, if any.
     */
    public static final class Counter
    {
        private final String series;
        private final LongAdder adder = new LongAdder();
        private volatile LongSupplier tracked;

        private Counter(final String series)
        {
            this.series = series;
        }

        /** Adds one. Lock-free and allocation-free. */
        public void inc()
        {
            adder.increment();
        }

        /** Adds {@code amount}, which must not be negative (a counter only goes up). */
        public void add(final long amount)
        {
            if (amount < 0)
            {
                throw new IllegalArgumentException(series + ": a counter cannot go down (add " + amount + ")");
            }
            adder.add(amount);
        }

        /**
         * Also reports a monotonic count kept elsewhere (read at scrape time), for a count the worker already has;
         * replaces an earlier one, {@code null} stops tracking.
         */
        public void track(final LongSupplier count)
        {
            this.tracked = count;
        }

        /** The current value: increments plus the tracked count. */
        public long get()
        {
            final LongSupplier count = tracked;
            return count == null ? adder.sum() : adder.sum() + count.getAsLong();
        }

        /** {@code name{labels}}, for messages. */
        @Override
        public String toString()
        {
            return series;
        }
    }

    private static final int TIERS = Tier.values().length;

    private final Counter[] hits = new Counter[TIERS];
    private final Counter misses = new Counter("ds4j_misses_total");
    private final Counter[] evictions = new Counter[EvictionAction.values().length];
    private final Counter spills = new Counter("ds4j_spills_total");
    private final Counter[] l2Writes = new Counter[L2WriteResult.values().length];
    private final AtomicReferenceArray<LongSupplier> tierBytes = new AtomicReferenceArray<>(TIERS);
    private final AtomicReferenceArray<LongSupplier> tierObjects = new AtomicReferenceArray<>(TIERS);
    private volatile LongSupplier l2QueueDepth;
    private volatile LongSupplier poolCapacityBytes;
    private volatile LongSupplier clients;
    private volatile LongSupplier keys;
    /** Callbacks already warned about, so that a broken one logs once, not at every scrape. */
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private final PrometheusRegistry registry = new PrometheusRegistry();

    public WorkerMetrics()
    {
        for (final Tier tier : Tier.values())
        {
            hits[tier.ordinal()] = new Counter("ds4j_hits_total{tier=\"" + tier.label() + "\"}");
        }
        for (final EvictionAction action : EvictionAction.values())
        {
            evictions[action.ordinal()] = new Counter("ds4j_evictions_total{action=\"" + action.label() + "\"}");
        }
        for (final L2WriteResult result : L2WriteResult.values())
        {
            l2Writes[result.ordinal()] = new Counter("ds4j_l2_writes_total{result=\"" + result.label() + "\"}");
        }
        registry.register(new Collector());
    }

    /** {@code ds4j_hits_total{tier}}: gets served from {@code tier}. */
    public Counter hits(final Tier tier)
    {
        return hits[tier.ordinal()];
    }

    /** {@code ds4j_misses_total}: gets that found the key in no tier. */
    public Counter misses()
    {
        return misses;
    }

    /** {@code ds4j_evictions_total{action}}: objects the evictor (or an allocation failure) acted on. */
    public Counter evictions(final EvictionAction action)
    {
        return evictions[action.ordinal()];
    }

    /** {@code ds4j_spills_total}: objects written to the spill tier. */
    public Counter spills()
    {
        return spills;
    }

    /** {@code ds4j_l2_writes_total{result}}: writes to L2 (write-through and write-back) and how they ended. */
    public Counter l2Writes(final L2WriteResult result)
    {
        return l2Writes[result.ordinal()];
    }

    /** {@code ds4j_tier_bytes{tier}}: bytes of objects held in {@code tier}, read from {@code bytes}. */
    public void tierBytes(final Tier tier, final LongSupplier bytes)
    {
        tierBytes.set(tier.ordinal(), bytes);
    }

    /** {@code ds4j_tier_objects{tier}}: objects held in {@code tier}, read from {@code objects}. */
    public void tierObjects(final Tier tier, final LongSupplier objects)
    {
        tierObjects.set(tier.ordinal(), objects);
    }

    /** {@code ds4j_l2_queue_depth}: objects waiting in the write-back queue for L2. */
    public void l2QueueDepth(final LongSupplier depth)
    {
        this.l2QueueDepth = depth;
    }

    /** {@code ds4j_pool_capacity_bytes}: the shared-memory pool's size. */
    public void poolCapacityBytes(final LongSupplier bytes)
    {
        this.poolCapacityBytes = bytes;
    }

    /** {@code ds4j_clients}: connected client sessions. */
    public void clients(final LongSupplier count)
    {
        this.clients = count;
    }

    /** {@code ds4j_keys}: keys the worker's metadata knows (whatever tier their value is in). */
    public void keys(final LongSupplier count)
    {
        this.keys = count;
    }

    /** The registry {@link MetricsServer} serves. */
    PrometheusRegistry registry()
    {
        return registry;
    }

    /** One scrape in the Prometheus text format 0.0.4, as {@code GET /metrics} answers it (for logs, tools, tests). */
    public String scrape()
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try
        {
            PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.DEFAULT);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Reads every series into the client's snapshots at scrape time. */
    private final class Collector implements MultiCollector
    {
        @Override
        public MetricSnapshots collect()
        {
            final List<MetricSnapshot> all = new ArrayList<>();
            addGauge(all, "ds4j_tier_bytes", "Bytes of objects held in each storage tier.", "tier", tierBytes);
            addGauge(all, "ds4j_tier_objects", "Objects held in each storage tier.", "tier", tierObjects);
            addCounter(all, "ds4j_hits", "Gets served from each storage tier.", "tier", hits, Tier.values());
            addCounter(all, "ds4j_misses", "Gets that found the key in no tier.", misses);
            addCounter(all, "ds4j_evictions", "Objects evicted from memory, by what was done with them.", "action",
                evictions, EvictionAction.values());
            addCounter(all, "ds4j_spills", "Objects written to the spill tier.", spills);
            addGauge(all, "ds4j_l2_queue_depth", "Objects waiting in the write-back queue for L2.", l2QueueDepth);
            addCounter(all, "ds4j_l2_writes", "Writes to L2, by result.", "result", l2Writes,
                L2WriteResult.values());
            addGauge(all, "ds4j_pool_capacity_bytes", "Size of the shared-memory pool in bytes.", poolCapacityBytes);
            addGauge(all, "ds4j_clients", "Connected client sessions.", clients);
            addGauge(all, "ds4j_keys", "Keys known to the worker, in any tier.", keys);
            return new MetricSnapshots(all);
        }

        private void addCounter(final List<MetricSnapshot> all, final String name, final String help,
            final Counter counter)
        {
            final Long value = read(counter.series, counter::get);
            if (value != null)
            {
                all.add(CounterSnapshot.builder().name(name).help(help)
                    .dataPoint(CounterDataPointSnapshot.builder().value(value).build()).build());
            }
        }

        private void addCounter(final List<MetricSnapshot> all, final String name, final String help,
            final String label, final Counter[] series, final Enum<?>[] values)
        {
            final CounterSnapshot.Builder builder = CounterSnapshot.builder().name(name).help(help);
            boolean any = false;
            for (final Enum<?> value : values)
            {
                final Counter counter = series[value.ordinal()];
                final Long count = read(counter.series, counter::get);
                if (count != null)
                {
                    builder.dataPoint(CounterDataPointSnapshot.builder().labels(Labels.of(label, labelOf(value)))
                        .value(count).build());
                    any = true;
                }
            }
            if (any)
            {
                all.add(builder.build());
            }
        }

        private void addGauge(final List<MetricSnapshot> all, final String name, final String help,
            final LongSupplier supplier)
        {
            final Long value = supplier == null ? null : read(name, supplier);
            if (value != null)
            {
                all.add(GaugeSnapshot.builder().name(name).help(help)
                    .dataPoint(GaugeDataPointSnapshot.builder().value(value).build()).build());
            }
        }

        private void addGauge(final List<MetricSnapshot> all, final String name, final String help,
            final String label, final AtomicReferenceArray<LongSupplier> perTier)
        {
            final GaugeSnapshot.Builder builder = GaugeSnapshot.builder().name(name).help(help);
            boolean any = false;
            for (final Tier tier : Tier.values())
            {
                final LongSupplier supplier = perTier.get(tier.ordinal());
                final Long value = supplier == null ? null
                    : read(name + "{" + label + "=\"" + tier.label() + "\"}", supplier);
                if (value != null)
                {
                    builder.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of(label, tier.label()))
                        .value(value).build());
                    any = true;
                }
            }
            if (any)
            {
                all.add(builder.build());
            }
        }

        private static String labelOf(final Enum<?> value)
        {
            return switch (value)
            {
                case Tier tier -> tier.label();
                case EvictionAction action -> action.label();
                case L2WriteResult result -> result.label();
                default -> throw new IllegalArgumentException(String.valueOf(value));
            };
        }

        /** The supplier's value, or null (logged, once per series) when it throws. */
        private Long read(final String series, final LongSupplier supplier)
        {
            try
            {
                return supplier.getAsLong();
            }
            catch (final RuntimeException e)
            {
                if (warned.add(series))
                {
                    LOG.warn("metric {} left out of the scrape: its callback failed", series, e);
                }
                else
                {
                    LOG.debug("metric {} left out of the scrape: its callback failed", series, e);
                }
                return null;
            }
        }
    }
}
