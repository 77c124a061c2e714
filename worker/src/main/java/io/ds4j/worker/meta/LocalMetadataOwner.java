package io.ds4j.worker.meta;

import io.ds4j.common.KeyMeta;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.store.Removal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The owner of the keys in this worker's ring ranges (all keys when standalone): one record per key, in one
 * concurrent map. A record changes only inside the map's per-key compute, so two publishes of one key, or a publish
 * and a replica registration, are ordered; the holders are told after the compute, outside any lock, because telling
 * a remote holder is a network round trip. Expiry runs on its own thread so a key with a TTL disappears, and its
 * copies are freed, even if nobody reads it again.
 */
public final class LocalMetadataOwner implements MetadataOwner
{
    private static final Logger LOG = LoggerFactory.getLogger(LocalMetadataOwner.class);
    private static final String[] NO_COPIES = new String[0];

    /**
     * The owner's record of a key: its current version and where its copies are. Kept small, one per key: the write
     * mode and the consistency share the top byte of the size (40 bytes with compact object headers).
     */
    private static final class KeyRecord
    {
        private static final WriteMode[] WRITE_MODES = WriteMode.values();
        private static final ConsistencyType[] CONSISTENCIES = ConsistencyType.values();
        private static final int MODES_SHIFT = 56;
        private static final long SIZE_MASK = (1L << MODES_SHIFT) - 1;

        final long version;
        /** The size in bits 0..55, the write mode's ordinal in 56..59, the consistency's in 60..63. */
        private final long sizeAndModes;
        final String primary;
        volatile long expiresAtMs;
        /** Workers holding a replica of this version (never the primary); replaced whole, never mutated. */
        volatile String[] copies = NO_COPIES;

        /** The same version held at {@code primary}: the old primary is gone, a replica takes its place. */
        KeyRecord promoted(final String newPrimary, final String[] others)
        {
            final KeyMeta meta = meta();
            final KeyRecord next = new KeyRecord(new KeyMeta(version, meta.size(), meta.writeMode(),
                meta.consistency(), expiresAtMs, newPrimary));
            next.copies = others;
            return next;
        }

        KeyRecord(final KeyMeta meta)
        {
            if ((meta.size() & ~SIZE_MASK) != 0)
            {
                throw new IllegalArgumentException("size " + meta.size() + " of a value is out of range");
            }
            this.version = meta.version();
            this.sizeAndModes = meta.size() | (long) meta.writeMode().ordinal() << MODES_SHIFT
                | (long) meta.consistency().ordinal() << MODES_SHIFT + 4;
            this.primary = meta.primary();
            this.expiresAtMs = meta.expiresAtMs();
        }

        boolean isExpired(final long nowMs)
        {
            final long at = expiresAtMs;
            return at != 0 && at <= nowMs;
        }

        KeyMeta meta()
        {
            final int modes = (int) (sizeAndModes >>> MODES_SHIFT);
            return new KeyMeta(version, sizeAndModes & SIZE_MASK, WRITE_MODES[modes & 0xF], CONSISTENCIES[modes >>> 4],
                expiresAtMs, primary);
        }

        /** The primary and every replica holder. */
        List<String> holders()
        {
            final String[] replicas = copies;
            final List<String> all = new ArrayList<>(replicas.length + 1);
            all.add(primary);
            all.addAll(Arrays.asList(replicas));
            return all;
        }
    }

    private final ConcurrentHashMap<String, KeyRecord> records = new ConcurrentHashMap<>();
    /** Global references per key and holder; independent of the record (a reference may come first). */
    private final ConcurrentHashMap<String, Map<String, Long>> refs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, List<Waiter>> waiters = new ConcurrentHashMap<>();
    private final RecentDeletions deleted = new RecentDeletions();
    private final DelayQueue<Expiry> expiries = new DelayQueue<>();
    private final RetirementOrder order = new RetirementOrder();
    private final CopyHolders holders;
    private final Thread expiryThread;
    private volatile boolean closed;
    /** Which keys this owner answers for; waiters of the others are sent to their new owner. */
    private volatile Predicate<String> owned = key -> true;

    public LocalMetadataOwner(final CopyHolders holders)
    {
        this.holders = holders;
        expiryThread = Thread.ofPlatform().daemon().name("ds4j-expiry").start(this::expireLoop);
    }

    /**
     * How long a holder that could not be told of a retirement may still come back and report its copy: the
     * cluster's {@code node_timeout_s + node_dead_timeout_s}, plus a margin. The retired version is refused for that
     * long.
     */
    public void unreachableHolderReturnsWithin(final java.time.Duration window)
    {
        deleted.unreachedMemory(window.toMillis());
    }

    @Override
    public PublishResult publish(final String key, final KeyMeta meta, final ExistenceOpt existence)
    {
        final long now = System.currentTimeMillis();
        final KeyRecord[] previous = new KeyRecord[1];
        final PublishResult[] result = new PublishResult[1];
        final RetirementOrder.Turn[] turn = new RetirementOrder.Turn[1];
        final KeyRecord fresh = new KeyRecord(meta);
        records.compute(key, (k, current) ->
        {
            final boolean live = current != null && !current.isExpired(now);
            if (live && existence == ExistenceOpt.NX)
            {
                result[0] = PublishResult.KEPT_EXISTING;
                return current;
            }
            // a deletion a moment ago refuses only what could bring its version back: an NX load of an L2 record
            // (a plain write is new data, whatever the writer's clock says)
            if (current != null && current.version >= meta.version()
                || existence == ExistenceOpt.NX && deleted.covers(k, meta.version(), now))
            {
                result[0] = PublishResult.OUTDATED;
                return current;
            }
            previous[0] = current;
            result[0] = live ? PublishResult.PUBLISHED : PublishResult.CREATED;
            turn[0] = order.enter(k);
            return fresh;
        });
        if (result[0] == PublishResult.KEPT_EXISTING || result[0] == PublishResult.OUTDATED)
        {
            return result[0];
        }
        final KeyRecord old = previous[0];
        final Removal why = result[0] == PublishResult.CREATED ? Removal.EXPIRED
            : meta.writeMode() == io.ds4j.common.WriteMode.WRITE_THROUGH_L2_CACHE ? Removal.REPLACED_DURABLY
            : Removal.REPLACED;
        if (meta.consistency() == ConsistencyType.PRAM)
        {
            // PRAM: the writer is answered first; a reader elsewhere may see the old version until this lands
            Thread.ofVirtual().name("ds4j-retire").start(() -> retireInTurn(key, old, meta.primary(), why, turn[0]));
        }
        else
        {
            retireInTurn(key, old, meta.primary(), why, turn[0]);
        }
        schedule(key, fresh);
        wake(key);
        return result[0];
    }

    /** Retires {@code old}'s copies (if any), then waits for the key's earlier retirements (RetirementOrder). */
    private void retireInTurn(final String key, final KeyRecord old, final String except, final Removal why,
        final RetirementOrder.Turn turn)
    {
        try
        {
            if (old != null)
            {
                retireAll(key, old, except, why);
            }
        }
        finally
        {
            turn.finish();
        }
    }

    /** Tells every holder of {@code old} but {@code except} (the writer, whose new copy replaces its old one). */
    private void retireAll(final String key, final KeyRecord old, final String except, final Removal why)
    {
        for (final String holder : old.holders())
        {
            if (!holder.equals(except))
            {
                retire(holder, key, old.version, why);
            }
        }
    }

    private void retire(final String holder, final String key, final long version, final Removal why)
    {
        try
        {
            holders.retire(holder, key, version, why);
        }
        catch (final RuntimeException e)
        {
            // a holder we cannot reach serves nobody until it is back; when it is, it reports its copies, and this
            // version must not come back through that report (RecentDeletions)
            deleted.rememberUnreached(key, version);
            LOG.warn("could not tell {} that {}@{} is {}: {}", holder, key, version, why, e.toString());
        }
    }

    private void schedule(final String key, final KeyRecord record)
    {
        final long at = record.expiresAtMs;
        if (at > 0)
        {
            expiries.add(new Expiry(key, record, at));
        }
    }

    private KeyRecord live(final String key)
    {
        final KeyRecord record = records.get(key);
        return record == null || record.isExpired(System.currentTimeMillis()) ? null : record;
    }

    @Override
    public KeyMeta[] query(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        final KeyMeta[] found = new KeyMeta[keys.size()];
        int missing = fill(keys, found);
        if (missing == 0 || subTimeoutMs <= 0)
        {
            return found;
        }
        final Waiter waiter = new Waiter();
        for (int i = 0; i < found.length; i++)
        {
            if (found[i] == null)
            {
                waiters.compute(keys.get(i), (k, list) ->
                {
                    final List<Waiter> registered = list == null ? new CopyOnWriteArrayList<>() : list;
                    registered.add(waiter);
                    return registered;
                });
            }
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(subTimeoutMs);
        try
        {
            // re-check after registering, so a publish between the first look and the registration is not missed
            missing = fill(keys, found);
            while (missing > 0)
            {
                checkOwned(keys, found);
                final long left = deadline - System.nanoTime();
                if (left <= 0 || !waiter.await(left))
                {
                    fill(keys, found);
                    break;
                }
                missing = fill(keys, found);
            }
        }
        finally
        {
            for (final String key : keys)
            {
                waiters.computeIfPresent(key, (k, list) ->
                {
                    list.remove(waiter);
                    return list.isEmpty() ? null : list;
                });
            }
        }
        return found;
    }

    /** A waiter whose key moved to another owner asks that owner for the rest of its wait (RoutingOwner retries). */
    private void checkOwned(final List<String> keys, final KeyMeta[] found)
    {
        final Predicate<String> mine = owned;
        for (int i = 0; i < found.length; i++)
        {
            if (found[i] == null && !mine.test(keys.get(i)))
            {
                throw new DsException(StatusCode.NOT_OWNER, "the metadata of " + keys.get(i)
                    + " moved to another worker while waiting for it");
            }
        }
    }

    /** Fills the keys still missing in {@code found}; returns how many remain missing. */
    private int fill(final List<String> keys, final KeyMeta[] found)
    {
        int missing = 0;
        for (int i = 0; i < found.length; i++)
        {
            if (found[i] == null)
            {
                final KeyRecord record = live(keys.get(i));
                if (record == null)
                {
                    missing++;
                }
                else
                {
                    found[i] = record.meta();
                }
            }
        }
        return missing;
    }

    private void wake(final String key)
    {
        final List<Waiter> list = waiters.get(key);
        if (list != null)
        {
            for (final Waiter waiter : list)
            {
                waiter.signal();
            }
        }
    }

    @Override
    public boolean addCopy(final String key, final long version, final String holder)
    {
        final boolean[] added = new boolean[1];
        records.computeIfPresent(key, (k, record) ->
        {
            if (record.version == version && !record.isExpired(System.currentTimeMillis()))
            {
                added[0] = true;
                if (!record.primary.equals(holder) && !Arrays.asList(record.copies).contains(holder))
                {
                    final String[] more = Arrays.copyOf(record.copies, record.copies.length + 1);
                    more[more.length - 1] = holder;
                    record.copies = more;
                }
            }
            return record;
        });
        return added[0];
    }

    /**
     * {@inheritDoc}
     *
     * <p>The primary giving its copy up (a lossless exit that moved it, or a promoted replica its holder evicted before
     * it heard of the promotion) passes the key to a replica, or ends the key when there is none.
     */
    @Override
    public void removeCopy(final String key, final long version, final String holder)
    {
        final boolean[] primaryGone = new boolean[1];
        final KeyRecord[] promoted = new KeyRecord[1];
        records.computeIfPresent(key, (k, record) ->
        {
            if (record.version != version)
            {
                return record;
            }
            if (record.primary.equals(holder))
            {
                if (record.copies.length == 0)
                {
                    primaryGone[0] = true;
                    return record; // dropped() below ends it, in turn with the key's retirements
                }
                promoted[0] = record.promoted(record.copies[0], Arrays.copyOfRange(record.copies, 1,
                    record.copies.length));
                return promoted[0];
            }
            if (Arrays.asList(record.copies).contains(holder))
            {
                record.copies = Arrays.stream(record.copies).filter(copy -> !copy.equals(holder))
                    .toArray(String[]::new);
            }
            return record;
        });
        if (primaryGone[0])
        {
            dropped(key, version, holder);
        }
        if (promoted[0] != null)
        {
            schedule(key, promoted[0]);
            tellPromoted(key, promoted[0]);
        }
    }

    /** Tells a promoted replica's holder that it keeps the key's primary copy now. */
    private void tellPromoted(final String key, final KeyRecord record)
    {
        try
        {
            holders.promote(record.primary, key, record.version);
        }
        catch (final RuntimeException e)
        {
            // it still holds the bytes and serves them; it only treats them as a replica when memory runs short, and
            // if it drops them, its removal reaches this owner and ends or passes the key (removeCopy above)
            LOG.warn("could not tell {} that its copy of {}@{} is the primary now: {}", record.primary, key,
                record.version, e.toString());
        }
    }

    @Override
    public boolean delete(final String key)
    {
        final KeyRecord[] removed = new KeyRecord[1];
        final RetirementOrder.Turn[] turn = new RetirementOrder.Turn[1];
        records.computeIfPresent(key, (k, record) ->
        {
            removed[0] = record;
            turn[0] = order.enter(k);
            // remembered before the record goes, in the same step: a report adopted in between would bring it back
            deleted.remember(k, record.version);
            return null;
        });
        if (removed[0] == null)
        {
            // an earlier delete or expiry may still be retiring copies: "not found" is not answered before it is done
            order.awaitPending(key);
            return false;
        }
        refs.remove(key);
        retireInTurn(key, removed[0], null, Removal.DELETED, turn[0]);
        return !removed[0].isExpired(System.currentTimeMillis());
    }

    @Override
    public void dropped(final String key, final long version, final String holder)
    {
        final KeyRecord[] removed = new KeyRecord[1];
        final RetirementOrder.Turn[] turn = new RetirementOrder.Turn[1];
        records.computeIfPresent(key, (k, record) ->
        {
            if (record.version == version && record.primary.equals(holder))
            {
                removed[0] = record;
                turn[0] = order.enter(k);
                return null;
            }
            return record;
        });
        if (removed[0] != null)
        {
            refs.remove(key);
            retireInTurn(key, removed[0], holder, Removal.DROPPED, turn[0]);
        }
    }

    @Override
    public boolean expire(final String key, final int ttlSecond)
    {
        final long now = System.currentTimeMillis();
        final KeyRecord[] changed = new KeyRecord[1];
        records.computeIfPresent(key, (k, record) ->
        {
            if (!record.isExpired(now))
            {
                record.expiresAtMs = ttlSecond > 0 ? now + ttlSecond * 1000L : 0;
                changed[0] = record;
            }
            return record;
        });
        final KeyRecord record = changed[0];
        if (record == null)
        {
            return false;
        }
        schedule(key, record);
        for (final String holder : record.holders())
        {
            try
            {
                holders.expiryChanged(holder, key, record.version, record.expiresAtMs);
            }
            catch (final RuntimeException e)
            {
                LOG.warn("could not tell {} the new TTL of {}: {}", holder, key, e.toString());
            }
        }
        return true;
    }

    @Override
    public boolean exists(final String key)
    {
        return live(key) != null;
    }

    @Override
    public RefChange changeRef(final String key, final String holder, final RefOp op, final boolean mustExist)
    {
        if (mustExist && live(key) == null)
        {
            throw new io.ds4j.common.DsException(io.ds4j.common.StatusCode.NOT_FOUND, "nested key " + key
                + " does not exist; a parent can only reference existing objects");
        }
        final long[] counts = new long[3];
        refs.compute(key, (k, byHolder) ->
        {
            final Map<String, Long> table = byHolder == null ? new HashMap<>(4) : byHolder;
            final long before = table.getOrDefault(holder, 0L);
            final long after = switch (op)
            {
                case INCREASE -> before + 1;
                case DECREASE -> Math.max(0, before - 1);
                case RELEASE_ALL -> 0;
            };
            if (after == 0)
            {
                table.remove(holder);
            }
            else
            {
                table.put(holder, after);
            }
            counts[0] = before;
            counts[1] = after;
            counts[2] = table.size();
            return table.isEmpty() ? null : table;
        });
        return new RefChange(counts[0], counts[1], (int) counts[2]);
    }

    @Override
    public int refHolders(final String key)
    {
        // a table is a plain map changed only inside the key's compute: read its size there too
        final int[] holders = new int[1];
        refs.computeIfPresent(key, (k, table) ->
        {
            holders[0] = table.size();
            return table;
        });
        return holders[0];
    }

    @Override
    public boolean[] adopt(final List<KeyHandover> handovers)
    {
        final boolean[] outdated = new boolean[handovers.size()];
        for (int i = 0; i < outdated.length; i++)
        {
            final KeyHandover handover = handovers.get(i);
            if (handover.deletedVersion() > 0)
            {
                adoptDeletion(handover.key(), handover.deletedVersion());
            }
            if (!handover.refs().isEmpty())
            {
                mergeRefs(handover.key(), handover.refs());
            }
            outdated[i] = handover.meta() != null && !adoptVersion(handover);
        }
        return outdated;
    }

    /** False when the handover's version is older than the current one here (or has expired). */
    private boolean adoptVersion(final KeyHandover handover)
    {
        final KeyMeta meta = handover.meta();
        final long now = System.currentTimeMillis();
        if (meta.primary() == null && handover.replicas().isEmpty())
        {
            return false;
        }
        if (meta.isExpired(now))
        {
            retireHandedOver(handover, Removal.DELETED);
            return false;
        }
        // a replica reported without its primary (which is gone) becomes the primary
        final String primary = meta.primary() != null ? meta.primary() : handover.replicas().get(0);
        final String[] replicas = handover.replicas().stream().filter(holder -> !holder.equals(primary))
            .toArray(String[]::new);
        final boolean[] stale = new boolean[1];
        final boolean[] wasDeleted = new boolean[1];
        final KeyRecord[] replaced = new KeyRecord[1];
        final KeyRecord[] adopted = new KeyRecord[1];
        final RetirementOrder.Turn[] turn = new RetirementOrder.Turn[1];
        records.compute(handover.key(), (k, current) ->
        {
            // in the same step as the record's change, which a delete remembers itself in: a report racing the
            // delete must not bring the version back (the ETCD_RESTART run)
            if (deleted.covers(k, meta.version(), now))
            {
                wasDeleted[0] = true;
                return current;
            }
            if (current != null && current.version > meta.version())
            {
                stale[0] = true;
                return current;
            }
            if (current != null && current.version == meta.version())
            {
                final java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>(Arrays.asList(current.copies));
                if (!primary.equals(current.primary))
                {
                    all.add(primary);
                }
                all.addAll(Arrays.asList(replicas));
                all.remove(current.primary);
                current.copies = all.toArray(NO_COPIES);
                return current;
            }
            replaced[0] = current;
            turn[0] = order.enter(k);
            final KeyRecord fresh = new KeyRecord(new KeyMeta(meta.version(), meta.size(), meta.writeMode(),
                meta.consistency(), meta.expiresAtMs(), primary));
            fresh.copies = replicas.length == 0 ? NO_COPIES : replicas;
            adopted[0] = fresh;
            return fresh;
        });
        if (wasDeleted[0])
        {
            retireHandedOver(handover, Removal.DELETED);
            return false;
        }
        if (stale[0])
        {
            // an old owner's record or a holder's report overtaken by a newer version here: its copies go
            retireHandedOver(handover, Removal.REPLACED);
            return false;
        }
        if (turn[0] != null)
        {
            retireInTurn(handover.key(), replaced[0], primary, Removal.REPLACED, turn[0]);
        }
        if (adopted[0] != null)
        {
            schedule(handover.key(), adopted[0]);
            wake(handover.key());
            if (meta.primary() == null)
            {
                tellPromoted(handover.key(), adopted[0]);
            }
        }
        return true;
    }

    /** The old owner deleted the key a moment ago: a version reported here meanwhile that is not newer goes. */
    private void adoptDeletion(final String key, final long version)
    {
        deleted.remember(key, version);
        final KeyRecord[] removed = new KeyRecord[1];
        final RetirementOrder.Turn[] turn = new RetirementOrder.Turn[1];
        records.computeIfPresent(key, (k, record) ->
        {
            if (record.version <= version)
            {
                removed[0] = record;
                turn[0] = order.enter(k);
                return null;
            }
            return record;
        });
        if (removed[0] != null)
        {
            retireInTurn(key, removed[0], null, Removal.DELETED, turn[0]);
        }
    }

    private void retireHandedOver(final KeyHandover handover, final Removal why)
    {
        final long version = handover.meta().version();
        if (handover.meta().primary() != null)
        {
            retire(handover.meta().primary(), handover.key(), version, why);
        }
        for (final String replica : handover.replicas())
        {
            retire(replica, handover.key(), version, why);
        }
    }

    private void mergeRefs(final String key, final Map<String, Long> handed)
    {
        refs.compute(key, (k, table) ->
        {
            final Map<String, Long> merged = table == null ? new HashMap<>(4) : table;
            handed.forEach((holder, count) -> merged.merge(holder, count, Math::max));
            return merged;
        });
    }

    /**
     * From now on answers only for the keys {@code mine} accepts: the records and references of every other key
     * leave this owner and are returned, for the caller to hand to their new owners, and the waiters of those keys
     * are sent on (their queries end with NOT_OWNER, which the caller's routing retries at the new owner). The
     * copies stay where they are: only their bookkeeping moves.
     */
    public List<KeyHandover> handOver(final Predicate<String> mine)
    {
        owned = mine;
        final long now = System.currentTimeMillis();
        final List<KeyHandover> leaving = new ArrayList<>();
        for (final String key : records.keySet())
        {
            if (!mine.test(key))
            {
                final KeyRecord record = records.remove(key);
                final Map<String, Long> keyRefs = refs.remove(key);
                if (record != null && !record.isExpired(now))
                {
                    leaving.add(new KeyHandover(key, record.meta(), Arrays.asList(record.copies),
                        keyRefs == null ? Map.of() : keyRefs, 0));
                }
                else if (keyRefs != null && !keyRefs.isEmpty())
                {
                    leaving.add(new KeyHandover(key, null, List.of(), keyRefs, 0));
                }
            }
        }
        for (final String key : refs.keySet())
        {
            if (!mine.test(key))
            {
                final Map<String, Long> keyRefs = refs.remove(key);
                if (keyRefs != null && !keyRefs.isEmpty())
                {
                    leaving.add(new KeyHandover(key, null, List.of(), keyRefs, 0));
                }
            }
        }
        deleted.handOver(mine, now, leaving::add);
        for (final String key : waiters.keySet())
        {
            if (!mine.test(key))
            {
                wake(key);
            }
        }
        return leaving;
    }

    /**
     * A worker lost what it held (it died and left the ring, or restarted): versions older than
     * {@code versionsBefore} (epoch µs) that it held as primary pass to one of their replicas, or end when there is
     * none; it is dropped from every replica list. Nobody is told: the gone worker has nothing left to retire.
     *
     * @return how many keys ended
     */
    public int holderGone(final String holder, final long versionsBefore)
    {
        final int[] ended = new int[1];
        for (final String key : records.keySet())
        {
            final KeyRecord[] promoted = new KeyRecord[1];
            records.computeIfPresent(key, (k, record) ->
            {
                final boolean listed = Arrays.asList(record.copies).contains(holder);
                final String[] others = listed ? Arrays.stream(record.copies).filter(c -> !c.equals(holder))
                    .toArray(String[]::new) : record.copies;
                if (record.primary.equals(holder) && record.version < versionsBefore)
                {
                    if (others.length == 0)
                    {
                        ended[0]++;
                        return null;
                    }
                    promoted[0] = record.promoted(others[0], Arrays.copyOfRange(others, 1, others.length));
                    return promoted[0];
                }
                if (listed)
                {
                    record.copies = others;
                }
                return record;
            });
            if (promoted[0] != null)
            {
                schedule(key, promoted[0]);
                tellPromoted(key, promoted[0]);
            }
        }
        return ended[0];
    }

    /** Keys with global references (tests and metrics). */
    public int referencedKeys()
    {
        return refs.size();
    }

    /** Number of keys this owner keeps. */
    public int size()
    {
        return records.size();
    }

    private void expireLoop()
    {
        while (!closed)
        {
            try
            {
                final Expiry due = expiries.take();
                // a later expire() or overwrite made this record stale: only the record still current acts
                final RetirementOrder.Turn[] turn = new RetirementOrder.Turn[1];
                records.computeIfPresent(due.key, (k, record) ->
                {
                    if (record != due.record || record.expiresAtMs != due.atMs)
                    {
                        return record;
                    }
                    turn[0] = order.enter(k);
                    return null;
                });
                if (turn[0] != null)
                {
                    refs.remove(due.key);
                    retireInTurn(due.key, due.record, null, Removal.EXPIRED, turn[0]);
                    LOG.debug("key {} expired", due.key);
                }
            }
            catch (final InterruptedException e)
            {
                return;
            }
            catch (final RuntimeException e)
            {
                LOG.error("expiry failed", e);
            }
        }
    }

    @Override
    public void close()
    {
        closed = true;
        expiryThread.interrupt();
    }

    /** One scheduled expiry; stale ones (the record's expiry changed since) are ignored when they fire. */
    private static final class Expiry implements Delayed
    {
        final String key;
        final KeyRecord record;
        final long atMs;

        Expiry(final String key, final KeyRecord record, final long atMs)
        {
            this.key = key;
            this.record = record;
            this.atMs = atMs;
        }

        @Override
        public long getDelay(final TimeUnit unit)
        {
            return unit.convert(atMs - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(final Delayed other)
        {
            return Long.compare(atMs, ((Expiry) other).atMs);
        }
    }

    /** A query blocked on missing keys; woken by any publish of one of them, then it re-checks all. */
    private static final class Waiter
    {
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private boolean signalled;

        void signal()
        {
            lock.lock();
            try
            {
                signalled = true;
                changed.signalAll();
            }
            finally
            {
                lock.unlock();
            }
        }

        boolean await(final long nanos) throws InterruptedException
        {
            lock.lock();
            try
            {
                long left = nanos;
                while (!signalled && left > 0)
                {
                    left = changed.awaitNanos(left);
                }
                final boolean woke = signalled;
                signalled = false;
                return woke;
            }
            finally
            {
                lock.unlock();
            }
        }
    }
}
