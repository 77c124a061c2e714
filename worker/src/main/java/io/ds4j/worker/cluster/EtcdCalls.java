package io.ds4j.worker.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What {@link ClusterMembership} and {@link ClusterQuery} share about talking to etcd through jetcd: building the
 * client, and waiting for a jetcd future with a bound, so that no request ever hangs (jetcd waits for a connection
 * that may never come: its calls wait for the channel to be ready, and it retries on its own).
 */
final class EtcdCalls
{
    /**
     * gRPC logs through java.util.logging, which neither the worker's log nor dscli's output goes through; its INFO
     * lines ("Epoll available during static init of TcpMetrics") are noise on stderr. Warnings still show. Held here
     * so the logger (weakly referenced by java.util.logging) keeps its level.
     */
    private static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EtcdCalls.class);
    private static final java.util.concurrent.atomic.AtomicBoolean RECONNECT_WARNED =
        new java.util.concurrent.atomic.AtomicBoolean();

    static
    {
        if (GRPC_LOG.getLevel() == null)
        {
            GRPC_LOG.setLevel(java.util.logging.Level.WARNING);
        }
    }

    private EtcdCalls()
    {
    }

    /** A jetcd client for the settings' endpoints and credentials. It connects lazily, on the first call. */
    static Client connect(final EtcdSettings etcd)
    {
        final ClientBuilder builder = Client.builder()
            .endpoints(etcd.uris())
            .connectTimeout(Duration.ofSeconds(3));
        if (etcd.hasCredentials())
        {
            builder.user(bytes(etcd.username())).password(bytes(etcd.password()));
        }
        return builder.build();
    }

    /**
     * Makes the client's gRPC channel try to connect at once instead of at the end of its reconnect backoff, which
     * grows to two minutes while etcd is away: without this a worker whose calls failed through a 60 s outage
     * reached etcd again only 10 to 20 s after it was back, by which time the peers that got through first had
     * declared it dead (the fault suite's ETCD_LONG_OUTAGE run). Called after a failed call, so at most once per
     * heartbeat. jetcd does not expose the channel, so it is reached by reflection into jetcd 0.8's client (the
     * version the build pins); where that fails it logs once and does nothing.
     */
    static void reconnectNow(final Client client)
    {
        try
        {
            final Object manager = field(client, "connectionManager");
            final Object channel = manager == null ? null : field(manager, "managedChannel");
            if (channel instanceof final io.grpc.ManagedChannel managed)
            {
                managed.resetConnectBackoff();
            }
        }
        catch (final ReflectiveOperationException | RuntimeException e)
        {
            if (RECONNECT_WARNED.compareAndSet(false, true))
            {
                LOG.warn("cannot shorten the etcd client's reconnect backoff ({}); after an etcd outage this worker "
                    + "may take up to two minutes to reach etcd again", e.toString());
            }
        }
    }

    private static Object field(final Object owner, final String name) throws ReflectiveOperationException
    {
        final java.lang.reflect.Field field = owner.getClass().getDeclaredField(name);
        field.setAccessible(true);
        return field.get(owner);
    }

    static ByteSequence bytes(final String text)
    {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    static String text(final ByteSequence bytes)
    {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * The future's value, waiting at most {@code timeout}.
     *
     * @param what the request, for the message ("get the ring record")
     * @throws IOException naming the request and the endpoints when it failed or did not finish in time
     * @throws java.io.InterruptedIOException when the thread is interrupted (its interrupt flag is set again)
     */
    static <T> T await(final CompletableFuture<T> future, final Duration timeout, final String what,
        final EtcdSettings etcd) throws IOException
    {
        try
        {
            return future.get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
        }
        catch (final TimeoutException e)
        {
            future.cancel(true);
            throw new EtcdTimeoutException("etcd at " + etcd.endpointList() + " did not answer within "
                + timeout.toMillis() + " ms to " + what);
        }
        catch (final ExecutionException e)
        {
            final Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IOException("etcd at " + etcd.endpointList() + " failed to " + what + ": " + describe(cause),
                cause);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            future.cancel(true);
            throw new java.io.InterruptedIOException("interrupted while waiting for etcd to " + what);
        }
    }

    /** The message of a jetcd failure, without the gRPC noise where there is a plainer one. */
    static String describe(final Throwable error)
    {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root)
        {
            root = root.getCause();
        }
        final String message = error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
        final String rootMessage = root.getMessage();
        return root == error || rootMessage == null || message.contains(rootMessage) ? message
            : message + " (" + rootMessage + ")";
    }

    /** What to tell a user whose etcd did not answer. */
    static String unreachable(final EtcdSettings etcd, final Duration waited, final String detail)
    {
        return "cannot reach etcd at " + etcd.endpointList() + " within " + waited.toMillis() + " ms (" + detail
            + "); is etcd running at " + etcd.endpointList() + "? start it or fix --etcd_address";
    }

    /** A request that did not finish in time, as opposed to one etcd answered with an error. */
    static final class EtcdTimeoutException extends IOException
    {
        private static final long serialVersionUID = 1L;

        EtcdTimeoutException(final String message)
        {
            super(message);
        }
    }
}
