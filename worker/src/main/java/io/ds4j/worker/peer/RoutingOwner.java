package io.ds4j.worker.peer;

import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.peer.OwnerAdoptCodec;
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
 *
 * <p>While ownership moves (a ring change), an owner that no longer owns a key answers NOT_OWNER, and a waiting query
 * whose key moved ends with it: the call is sent again by the ring as it is then, for up to
 * {@link #REDIRECT_WAIT_MS}, after which the caller gets TRY_AGAIN (docs/cluster.md section 6).
 */
public final class RoutingOwner implements MetadataOwner
{
    /** How long a call follows NOT_OWNER answers before it gives up with TRY_AGAIN. */
    public static final long REDIRECT_WAIT_MS = 5_000;
    private static final long REDIRECT_PAUSE_MS = 20;

    private final String self;
    private final Supplier<HashRing> ring;
    private final long redirectWaitNanos;
    private final MetadataOwner local;
    private final PeerClients peers;

    /**
     * @param local the owner of this worker's ranges, as peers reach it too (it answers NOT_OWNER for other keys)
     */
    public RoutingOwner(final String self, final Supplier<HashRing> ring, final MetadataOwner local,
        final PeerClients peers)
    {
        this(self, ring, local, peers, true);
    }

    /**
     * @param redirect {@code enable_redirect}: follow NOT_OWNER answers for up to {@link #REDIRECT_WAIT_MS}; without
     *                 it a call whose key's metadata is moving fails at once with TRY_AGAIN, for the client to retry
     */
    public RoutingOwner(final String self, final Supplier<HashRing> ring, final MetadataOwner local,
        final PeerClients peers, final boolean redirect)
    {
        this.redirectWaitNanos = redirect ? REDIRECT_WAIT_MS * 1_000_000L : 0;
        this.self = self;
        this.ring = ring;
        this.local = local;
        this.peers = peers;
        peers.routeBy(ring); // a get's OWNER_FETCH goes to the owner this ring names, like every call here
    }

    /** One call, made at the owner the ring names. */
    @FunctionalInterface
    private interface OwnerCall<T>
    {
        T at(String owner, boolean isSelf) throws InterruptedException;
    }

    private <T> T routed(final String key, final OwnerCall<T> call)
    {
        try
        {
            return redirecting(key, () ->
            {
                final String owner = ring.get().ownerOf(key);
                return call.at(owner, owner.equals(self));
            });
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new DsException(StatusCode.INTERRUPTED, "interrupted");
        }
    }

    @FunctionalInterface
    private interface Attempt<T>
    {
        T run() throws InterruptedException;
    }

    private <T> T redirecting(final String what, final Attempt<T> attempt) throws InterruptedException
    {
        final long deadline = System.nanoTime() + redirectWaitNanos;
        while (true)
        {
            try
            {
                return attempt.run();
            }
            catch (final DsException e)
            {
                if (e.code() != StatusCode.NOT_OWNER)
                {
                    throw e;
                }
                if (System.nanoTime() - deadline >= 0)
                {
                    throw new DsException(StatusCode.TRY_AGAIN, "the metadata of " + what + " is moving between"
                        + " workers (" + e.detail() + "); try again");
                }
                Thread.sleep(REDIRECT_PAUSE_MS);
            }
        }
    }

    @Override
    public PublishResult publish(final String key, final KeyMeta meta, final ExistenceOpt existence)
    {
        return routed(key, (owner, isSelf) -> isSelf ? local.publish(key, meta, existence)
            : peers.publish(owner, key, meta, existence));
    }

    @Override
    public KeyMeta[] query(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        final long deadline = System.nanoTime() + Math.max(0, subTimeoutMs) * 1_000_000L;
        return redirecting(keys.size() == 1 ? keys.get(0) : keys.size() + " keys", () ->
            queryOnce(keys, Math.max(subTimeoutMs <= 0 ? subTimeoutMs : 1,
                (deadline - System.nanoTime()) / 1_000_000L)));
    }

    private KeyMeta[] queryOnce(final List<String> keys, final long subTimeoutMs) throws InterruptedException
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
        return routed(key, (owner, isSelf) -> isSelf ? local.addCopy(key, version, holder)
            : peers.addCopy(owner, key, version));
    }

    @Override
    public void removeCopy(final String key, final long version, final String holder)
    {
        routed(key, (owner, isSelf) ->
        {
            if (isSelf)
            {
                local.removeCopy(key, version, holder);
            }
            else
            {
                peers.removeCopy(owner, key, version);
            }
            return null;
        });
    }

    @Override
    public boolean delete(final String key)
    {
        return routed(key, (owner, isSelf) -> isSelf ? local.delete(key) : peers.delete(owner, key));
    }

    @Override
    public void dropped(final String key, final long version, final String holder)
    {
        routed(key, (owner, isSelf) ->
        {
            if (isSelf)
            {
                local.dropped(key, version, holder);
            }
            else
            {
                peers.dropped(owner, key, version);
            }
            return null;
        });
    }

    @Override
    public boolean expire(final String key, final int ttlSecond)
    {
        return routed(key, (owner, isSelf) -> isSelf ? local.expire(key, ttlSecond)
            : peers.expire(owner, key, ttlSecond));
    }

    @Override
    public boolean exists(final String key)
    {
        return routed(key, (owner, isSelf) -> isSelf ? local.exists(key) : peers.exists(owner, key));
    }

    @Override
    public RefChange changeRef(final String key, final String holder, final RefOp op, final boolean mustExist)
    {
        return routed(key, (owner, isSelf) -> isSelf ? local.changeRef(key, holder, op, mustExist)
            : peers.changeRef(owner, key, holder, op, mustExist));
    }

    @Override
    public int refHolders(final String key)
    {
        return routed(key, (owner, isSelf) -> isSelf ? local.refHolders(key) : peers.refHolders(owner, key));
    }

    /**
     * Hands each key to its owner on the current ring, in messages of at most {@link OwnerAdoptCodec#MAX_KEYS} per
     * owner; an owner answering NOT_OWNER (its ring is behind or ahead) gets the keys again by the ring as it is
     * then.
     */
    @Override
    public boolean[] adopt(final List<KeyHandover> handovers)
    {
        final boolean[] outdated = new boolean[handovers.size()];
        try
        {
            redirecting(handovers.size() + " handed-over keys", () ->
            {
                final HashRing current = ring.get();
                final Map<String, List<Integer>> byOwner = new LinkedHashMap<>();
                for (int i = 0; i < handovers.size(); i++)
                {
                    byOwner.computeIfAbsent(current.ownerOf(handovers.get(i).key()), o -> new ArrayList<>()).add(i);
                }
                for (final Map.Entry<String, List<Integer>> group : byOwner.entrySet())
                {
                    final List<Integer> slots = group.getValue();
                    for (int from = 0; from < slots.size(); from += OwnerAdoptCodec.MAX_KEYS)
                    {
                        final List<Integer> batch = slots.subList(from, Math.min(slots.size(),
                            from + OwnerAdoptCodec.MAX_KEYS));
                        final List<KeyHandover> part = batch.stream().map(handovers::get).toList();
                        final boolean[] answer = group.getKey().equals(self) ? local.adopt(part)
                            : peers.adopt(group.getKey(), part);
                        for (int j = 0; j < answer.length; j++)
                        {
                            outdated[batch.get(j)] = answer[j];
                        }
                    }
                }
                return null;
            });
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new DsException(StatusCode.INTERRUPTED, "interrupted");
        }
        return outdated;
    }

    @Override
    public void close()
    {
        local.close();
    }
}
