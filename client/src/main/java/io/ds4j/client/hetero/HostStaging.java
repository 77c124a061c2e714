package io.ds4j.client.hetero;

import io.ds4j.client.SetParam;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.DevStageCodec;
import io.ds4j.common.protocol.MessageType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Device objects across hosts, through host objects (docs/device.md, section 5): where a reader cannot open the
 * producer's IPC handles, it asks the worker to have the objects staged under KV keys it chose (DEV_STAGE); the
 * producer's client, which waits for such requests from its first devMset on (DEV_SERVE, from a virtual thread),
 * copies each object there with msetD2H; the reader reads them with mgetH2D, through the cluster's data plane, and
 * deletes them. Not pipelined: a key's bytes make the whole trip D2H, then host to host, then H2D.
 */
final class HostStaging
{
    private static final System.Logger LOG = System.getLogger(HostStaging.class.getName());
    /** How long a reader on another host waits at least for the producer to stage an object. */
    private static final long STAGE_WAIT_MS = 30_000;
    /** How long one DEV_SERVE waits on the worker before it is sent again. */
    private static final long SERVE_POLL_MS = 5_000;
    /** Staged copies expire if their reader never takes them. */
    private static final SetParam STAGING = SetParam.builder().ttlSecond(60).build();

    private final WorkerLink link;
    private final HostSwap swap;
    private final Executor executor;
    /** This client's registered objects: what it copies when a reader on another host asks. */
    private final Map<String, DeviceBlobList> registered = new ConcurrentHashMap<>();
    private boolean serving;
    private volatile boolean closed;

    HostStaging(final WorkerLink link, final HostSwap swap, final Executor executor)
    {
        this.link = link;
        this.swap = swap;
        this.executor = executor;
    }

    /** Objects this client registered: from now on it stages them for readers on other hosts. */
    void registered(final Map<String, DeviceBlobList> objects)
    {
        registered.putAll(objects);
        startServing();
    }

    void deleted(final List<String> keys)
    {
        keys.forEach(registered::remove);
    }

    void close()
    {
        closed = true;
    }

    /**
     * The objects of another host, through host objects: DEV_STAGE asks their producers to copy them to staging keys,
     * mgetH2D reads those (waiting for the producers), then they are deleted. Returns the keys copied.
     */
    List<String> pull(final List<String> keys, final List<DeviceBlobList> blobLists,
        final List<Integer> remote, final long subTimeoutMs, final FailedKeys failed)
    {
        final String run = UUID.randomUUID().toString();
        final List<DevStageCodec.Pair> pairs = new ArrayList<>(remote.size());
        final Map<String, Integer> byKey = new HashMap<>();
        for (final int i : remote)
        {
            pairs.add(new DevStageCodec.Pair(keys.get(i), "ds4j-staging." + run + "." + i));
            byKey.put(keys.get(i), i);
        }
        final List<BatchCodec.Failure> refused = link.invoke((connection, state) ->
        {
            DevStageCodec.writePairs(connection.begin(MessageType.DEV_STAGE), pairs);
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        final Map<String, BatchCodec.Failure> refusedByKey = new HashMap<>();
        refused.forEach(failure -> refusedByKey.put(failure.key(), failure));
        final List<String> stagingKeys = new ArrayList<>();
        final List<DeviceBlobList> targets = new ArrayList<>();
        final List<String> staged = new ArrayList<>();
        for (final DevStageCodec.Pair pair : pairs)
        {
            final int i = byKey.get(pair.key());
            final BatchCodec.Failure failure = refusedByKey.get(pair.key());
            if (failure != null)
            {
                failed.add(DeviceObjects.failedKey(pair.key(), blobLists.get(i)),
                    new DsException(failure.code(), failure.message()));
                continue;
            }
            stagingKeys.add(pair.stagingKey());
            targets.add(blobLists.get(i));
            staged.add(pair.key());
        }
        if (stagingKeys.isEmpty())
        {
            return List.of();
        }
        List<String> notRead;
        try
        {
            notRead = swap.mgetH2D(stagingKeys, targets, Math.max(subTimeoutMs, STAGE_WAIT_MS));
        }
        catch (final DsException e)
        {
            notRead = stagingKeys;
        }
        try
        {
            swap.delete(stagingKeys);
        }
        catch (final DsException e)
        {
            // they expire anyway (STAGING's TTL)
        }
        final List<String> copied = new ArrayList<>(staged.size());
        for (int s = 0; s < staged.size(); s++)
        {
            final String key = staged.get(s);
            if (notRead.contains(stagingKeys.get(s)))
            {
                failed.add(DeviceObjects.failedKey(key, blobLists.get(byKey.get(key))),
                    new DsException(StatusCode.NOT_FOUND, key + " is on another host and its producer did not stage"
                        + " it within " + Math.max(subTimeoutMs, STAGE_WAIT_MS)
                        + " ms (gone, or its process stopped serving)"));
            }
            else
            {
                copied.add(key);
            }
        }
        return copied;
    }

    /** From the first registration on: answers readers on other hosts by staging objects (DEV_SERVE). */
    private synchronized void startServing()
    {
        if (!serving)
        {
            serving = true;
            executor.execute(this::serve);
        }
    }

    private void serve()
    {
        while (!closed)
        {
            final List<DevStageCodec.Pair> pairs;
            try
            {
                pairs = link.invoke((connection, state) ->
                {
                    DevStageCodec.writeServeRequest(connection.begin(MessageType.DEV_SERVE), SERVE_POLL_MS);
                    return DevStageCodec.readPairs(connection.call(link.requestTimeoutMs() + SERVE_POLL_MS), true);
                });
            }
            catch (final RuntimeException e)
            {
                if (closed)
                {
                    return;
                }
                LOG.log(System.Logger.Level.DEBUG, "DEV_SERVE failed, retrying: {0}", e.toString());
                sleepQuietly();
                continue;
            }
            for (final DevStageCodec.Pair pair : pairs)
            {
                final DeviceBlobList blobs = registered.get(pair.key());
                if (blobs == null)
                {
                    continue;
                }
                try
                {
                    swap.msetD2H(List.of(pair.stagingKey()), List.of(blobs), STAGING);
                }
                catch (final DsException e)
                {
                    LOG.log(System.Logger.Level.WARNING, "cannot stage device object {0} for a reader on another"
                        + " host: {1}", pair.key(), e.getMessage());
                }
            }
        }
    }

    private static void sleepQuietly()
    {
        try
        {
            Thread.sleep(1000);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

}
