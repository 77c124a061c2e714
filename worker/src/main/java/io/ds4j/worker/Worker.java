package io.ds4j.worker;

import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.kv.KvService;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.server.SessionRegistry;
import io.ds4j.worker.server.WorkerServer;
import io.ds4j.worker.store.SharedPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One worker: the shared-memory pool, the metadata owner for its ring ranges (all of them when standalone), the
 * client server, and the probes. {@link #start} brings it up in that order and writes the ready file last;
 * {@link #close} undoes it in reverse.
 */
public final class Worker implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** Segment files live in tmpfs so they are memory, not disk. */
    public static final Path SHM_DIR = Path.of("/dev/shm");

    private final WorkerConfig config;
    private final long generation;
    private final HashRing ring;
    private SharedPool pool;
    private MetadataOwner metadata;
    private SessionRegistry sessions;
    private WorkerServer server;
    private ScheduledExecutorService housekeeping;
    private boolean closed;

    public Worker(final WorkerConfig config)
    {
        this.config = config;
        this.generation = new SecureRandom().nextLong(1, Long.MAX_VALUE);
        this.ring = HashRing.standalone(config.workerAddress().toString());
    }

    public synchronized void start() throws IOException
    {
        if (!config.etcdAddress().isEmpty())
        {
            throw new IOException("cluster mode (--etcd_address) is not available in this ds4j version yet;"
                + " leave --etcd_address out to run a standalone worker");
        }
        final String prefix = "ds4j-" + config.workerAddress().host() + "_" + config.workerAddress().port() + "-";
        pool = SharedPool.create(SHM_DIR, prefix, config.sharedMemorySizeBytes(), config.memoryAlignment(),
            config.enableFallocate(), config.sharedMemoryPopulate(), generation);
        metadata = new LocalMetadataOwner();
        sessions = new SessionRegistry(config.maxClientNum(), config.clientDeadTimeoutS());
        server = new WorkerServer(config, new KvService(pool, metadata), sessions, generation);
        server.start();
        housekeeping = Executors.newSingleThreadScheduledExecutor(runnable ->
            Thread.ofPlatform().daemon().name("ds4j-housekeeping").unstarted(runnable));
        housekeeping.scheduleWithFixedDelay(this::housekeeping, 0, config.heartbeatIntervalMs(),
            TimeUnit.MILLISECONDS);
        touch(config.readyCheckPath());
        LOG.info("worker {} ready (standalone, owns {} of {} ring ranges, pid {})", config.workerAddress(),
            ring.rangesOf(config.workerAddress().toString()).size(), ring.tokens().values().stream()
                .mapToInt(java.util.List::size).sum(), ProcessHandle.current().pid());
    }

    private void housekeeping()
    {
        try
        {
            pool.heartbeat();
            sessions.reap();
            touch(config.healthCheckPath());
        }
        catch (final IOException | RuntimeException e)
        {
            LOG.warn("housekeeping failed: {}", e.toString());
        }
    }

    private static void touch(final Path file) throws IOException
    {
        Files.createDirectories(file.getParent());
        if (Files.exists(file))
        {
            Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
        }
        else
        {
            Files.writeString(file, Long.toString(ProcessHandle.current().pid()));
        }
    }

    public HashRing ring()
    {
        return ring;
    }

    public SharedPool pool()
    {
        return pool;
    }

    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        LOG.info("worker {} stopping", config.workerAddress());
        deleteQuietly(config.readyCheckPath());
        if (housekeeping != null)
        {
            housekeeping.shutdownNow();
        }
        if (server != null)
        {
            server.close();
        }
        if (sessions != null)
        {
            sessions.closeAll();
        }
        if (metadata != null)
        {
            metadata.close();
        }
        if (pool != null)
        {
            pool.close();
        }
        deleteQuietly(config.healthCheckPath());
        LOG.info("worker {} stopped", config.workerAddress());
    }

    private static void deleteQuietly(final Path file)
    {
        try
        {
            Files.deleteIfExists(file);
        }
        catch (final IOException ignored)
        {
            // a probe file we cannot remove only makes the probe stale; nothing else depends on it
        }
    }
}
