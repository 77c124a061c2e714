package io.ds4j.worker.peer;

import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.meta.MetadataOwner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * The metadata owner as a worker in a cluster sees it: each call goes to the owner of its key on the current ring,
 * a local call when that is this worker and a peer message otherwise. A query of keys with several owners is split
 * by owner and sent in parallel; the answers come back in the caller's order.
 */
public final class RoutingOwner implements MetadataOwner
{
    private final String self;
    private final Supplier<HashRing> ring;
    private final MetadataOwner local;
    private final PeerClients peers;

    public RoutingOwner(final String self, final Supplier<HashRing> ring, final MetadataOwner local,
        final PeerClients peers)
    {
        this.self = self;
        this.ring = ring;
        this.local = local;
        this.peers = peers;
        peers.routeBy(ring); // a get's OWNER_FETCH goes to the owner this ring names, like every call here
    }

    private String ownerOf(final String key)
    {
        return ring.get().ownerOf(key);
    }

    @Override
    public PublishResult publish(final String key, final KeyMeta meta, final ExistenceOpt existence)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.publish(key, meta, existence) : peers.publish(owner, key, meta, existence);
    }

    @Override
    public KeyMeta[] query(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        final HashRing current = ring.get();
        final Map<String, List<Integer>> byOwner = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++)
        {
            byOwner.computeIfAbsent(current.ownerOf(keys.get(i)), o -> new ArrayList<>()).add(i);
        }
        if (byOwner.size() == 1)
        {
            final String owner = byOwner.keySet().iterator().next();
            return owner.equals(self) ? local.query(keys, subTimeoutMs) : peers.query(owner, keys, subTimeoutMs);
        }
        final KeyMeta[] result = new KeyMeta[keys.size()];
        final List<CompletableFuture<Void>> calls = new ArrayList<>();
        for (final Map.Entry<String, List<Integer>> group : byOwner.entrySet())
        {
            final List<String> part = group.getValue().stream().map(keys::get).toList();
            calls.add(CompletableFuture.runAsync(() ->
            {
                final KeyMeta[] metas;
                try
                {
                    metas = group.getKey().equals(self) ? local.query(part, subTimeoutMs)
                        : peers.query(group.getKey(), part, subTimeoutMs);
                }
                catch (final InterruptedException e)
                {
                    throw new DsException(StatusCode.INTERRUPTED, "interrupted");
                }
                for (int j = 0; j < metas.length; j++)
                {
                    result[group.getValue().get(j)] = metas[j];
                }
            }, command -> Thread.ofVirtual().start(command)));
        }
        try
        {
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
        }
        catch (final CompletionException e)
        {
            throw e.getCause() instanceof DsException ds ? ds : new DsException(StatusCode.RUNTIME_ERROR,
                e.getCause().toString());
        }
        return result;
    }

    @Override
    public boolean addCopy(final String key, final long version, final String holder)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.addCopy(key, version, holder) : peers.addCopy(owner, key, version);
    }

    @Override
    public void removeCopy(final String key, final long version, final String holder)
    {
        final String owner = ownerOf(key);
        if (owner.equals(self))
        {
            local.removeCopy(key, version, holder);
        }
        else
        {
            peers.removeCopy(owner, key, version);
        }
    }

    @Override
    public boolean delete(final String key)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.delete(key) : peers.delete(owner, key);
    }

    @Override
    public void dropped(final String key, final long version, final String holder)
    {
        final String owner = ownerOf(key);
        if (owner.equals(self))
        {
            local.dropped(key, version, holder);
        }
        else
        {
            peers.dropped(owner, key, version);
        }
    }

    @Override
    public boolean expire(final String key, final int ttlSecond)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.expire(key, ttlSecond) : peers.expire(owner, key, ttlSecond);
    }

    @Override
    public boolean exists(final String key)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.exists(key) : peers.exists(owner, key);
    }

    @Override
    public RefChange changeRef(final String key, final String holder, final RefOp op, final boolean mustExist)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.changeRef(key, holder, op, mustExist)
            : peers.changeRef(owner, key, holder, op, mustExist);
    }

    @Override
    public int refHolders(final String key)
    {
        final String owner = ownerOf(key);
        return owner.equals(self) ? local.refHolders(key) : peers.refHolders(owner, key);
    }

    @Override
    public void close()
    {
        local.close();
    }
}
