package io.ds4j.worker.data;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.KeyMeta;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.meta.MetadataOwner.PublishResult;
import io.ds4j.worker.store.LocalCopies;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one place a value is published, whatever interface it comes from: a filled region becomes this node's primary
 * copy of a new version. In order: L2 as the write mode asks (WRITE_THROUGH staged durably before anything is
 * visible), the key's owner records the version (deciding NX once for the cluster, and retiring the old version's
 * copies on other workers first when CAUSAL), the staged WRITE_THROUGH record becomes the key's L2 record, then the
 * copy is installed here, replacing the old local one. The writer is answered after all of it.
 */
public final class Publisher
{
    /** A writer whose version was overtaken (clocks of two hosts apart) tries again with a newer one this often. */
    private static final int OUTDATED_ATTEMPTS = 4;

    private final String self;
    private final TieredStore store;
    private final LocalCopies copies;
    private final MetadataOwner owner;
    private final AtomicLong lastVersion = new AtomicLong();
    private final Admission admission;
    /** Publishes under way, so a lossless exit can wait for the last of them before it scans what is here. */
    private final AtomicInteger publishing = new AtomicInteger();

    Publisher(final String self, final TieredStore store, final LocalCopies copies, final MetadataOwner owner,
        final Admission admission)
    {
        this.admission = admission;
        this.self = self;
        this.store = store;
        this.copies = copies;
        this.owner = owner;
    }

    /** A new version number: microseconds since the epoch like upstream, above every version this worker saw. */
    public long nextVersion()
    {
        final long now = System.currentTimeMillis() * 1000;
        return lastVersion.accumulateAndGet(now, (previous, candidate) -> Math.max(previous + 1, candidate));
    }

    /** Versions from other workers keep this worker's clock ahead of them. */
    void observe(final long version)
    {
        lastVersion.accumulateAndGet(version, Math::max);
    }

    /**
     * Publishes {@code object} (the caller's one reference passes to the new entry, or is released on failure) as a
     * new version of {@code key}.
     *
     * @param expiresAtMs absolute expiry, 0 for none
     * @param attachment  what the publishing interface keeps with the entry (null for KV)
     * @return the published entry (already replaced if a newer write overtook it), or null when NX kept the
     *         existing value
     * @throws DsException what L2 answers (IO_ERROR, WRITE_BACK_QUEUE_FULL), or what the owner answers
     */
    public StoreEntry publish(final String key, final StoredObject object, final WriteMode writeMode,
        final long expiresAtMs, final ExistenceOpt existence, final ConsistencyType consistency,
        final StoreEntry.Attachment attachment)
    {
        publishing.incrementAndGet();
        try
        {
            try
            {
                admission.check();
            }
            catch (final DsException e)
            {
                object.release();
                throw e;
            }
            return publishVersion(key, object, writeMode, expiresAtMs, existence, consistency, attachment);
        }
        finally
        {
            publishing.decrementAndGet();
        }
    }

    /**
     * Waits until the publishes under way finished, up to {@code timeout} (a lossless exit, once publishes are refused:
     * what is written here after its scan would be lost).
     *
     * @return whether they all finished
     */
    boolean awaitPublishes(final java.time.Duration timeout) throws InterruptedException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (publishing.get() > 0)
        {
            if (System.nanoTime() - deadline > 0)
            {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    private StoreEntry publishVersion(final String key, final StoredObject object, final WriteMode writeMode,
        final long expiresAtMs, final ExistenceOpt existence, final ConsistencyType consistency,
        final StoreEntry.Attachment attachment)
    {
        for (int attempt = 1; ; attempt++)
        {
            final StoreEntry entry = store.entry(key, object, nextVersion(), writeMode, expiresAtMs);
            entry.attachment(attachment);
            if (attachment != null && attachment.sealed())
            {
                object.markSealed();
            }
            try
            {
                store.beforePublish(entry);
            }
            catch (final DsException e)
            {
                object.release();
                throw e;
            }
            final PublishResult result;
            try
            {
                result = owner.publish(key, new KeyMeta(entry.version(), entry.size(), writeMode, consistency,
                    expiresAtMs, self), existence);
            }
            catch (final RuntimeException e)
            {
                // no answer: the owner may have recorded this version all the same, so its staged L2 record is
                // kept for a reader the owner sends here. An answer that refused it means it was never recorded: its
                // staged record goes. Neither replaced the previous version's record (TieredStore.beforePublish)
                copies.discard(entry, unanswered(e) ? Removal.ABANDONED : Removal.DISCARDED);
                throw e;
            }
            switch (result)
            {
                case KEPT_EXISTING ->
                {
                    copies.discard(entry, Removal.DISCARDED); // NX lost: this entry never became current
                    return null;
                }
                case OUTDATED ->
                {
                    if (attempt == OUTDATED_ATTEMPTS)
                    {
                        copies.discard(entry, Removal.DISCARDED);
                        throw new DsException(StatusCode.TRY_AGAIN, "the owner of " + key + " kept a newer version"
                            + " each time; this worker's clock may be far behind the cluster's");
                    }
                    object.tryRetain(); // the next attempt's reference: discarding this entry releases its own
                    copies.discard(entry, Removal.DISCARDED);
                    learnCurrentVersion(key);
                }
                default ->
                {
                    try
                    {
                        store.ownerRecorded(entry);
                    }
                    catch (final DsException e)
                    {
                        // the owner names this version: its staged L2 record stays for the readers it sends here
                        copies.discard(entry, Removal.ABANDONED);
                        throw e;
                    }
                    install(entry, result);
                    return entry;
                }
            }
        }
    }

    /** Whether a failed owner call may have been applied: it timed out, or its connection broke. */
    private static boolean unanswered(final RuntimeException e)
    {
        return e instanceof final DsException failure && (failure.code() == StatusCode.RPC_DEADLINE_EXCEEDED
            || failure.code() == StatusCode.RPC_UNAVAILABLE);
    }

    /**
     * The owner recorded the entry: it becomes this node's copy, unless a newer write already retired it; then it was
     * current for an instant and is let go as replaced.
     */
    private void install(final StoreEntry entry, final PublishResult result)
    {
        if (!copies.install(entry))
        {
            copies.discard(entry, Removal.REPLACED);
            return;
        }
        store.published(entry);
        if (result == PublishResult.CREATED && !entry.l2Backed())
        {
            // a record an earlier worker run left in L2 must not come back once this cache-only value is gone
            store.forgetOlderInL2(entry);
        }
    }

    /**
     * Installs an entry rebuilt from L2 as this node's primary copy, if the key has no current version (NX). Returns
     * the entry now current here, or null when another version won.
     */
    StoreEntry publishLoaded(final StoreEntry loaded, final ConsistencyType consistency)
    {
        observe(loaded.version());
        final PublishResult result = owner.publish(loaded.key(), new KeyMeta(loaded.version(), loaded.size(),
            loaded.writeMode(), consistency, loaded.expiresAtMs(), self), ExistenceOpt.NX);
        if (result != PublishResult.CREATED && result != PublishResult.PUBLISHED)
        {
            copies.discard(loaded, Removal.DISCARDED);
            return null;
        }
        if (!copies.install(loaded))
        {
            copies.discard(loaded, Removal.DISCARDED);
            return null;
        }
        store.published(loaded);
        return loaded;
    }

    private void learnCurrentVersion(final String key)
    {
        try
        {
            final KeyMeta current = owner.query(List.of(key), 0)[0];
            if (current != null)
            {
                observe(current.version());
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new DsException(StatusCode.SHUTTING_DOWN, "worker is stopping");
        }
    }
}
