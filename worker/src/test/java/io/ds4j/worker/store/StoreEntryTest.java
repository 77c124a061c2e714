package io.ds4j.worker.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ds4j.common.WriteMode;
import org.junit.jupiter.api.Test;

/** The entry packs its write mode, replica flag, L2 state and removed flag into two bytes: each reads back as set. */
class StoreEntryTest
{
    @Test
    void everyWriteModeAndReplicaFlagReadBack()
    {
        for (final WriteMode mode : WriteMode.values())
        {
            for (final boolean replica : new boolean[] {false, true})
            {
                final StoreEntry entry = new StoreEntry("k", 7, mode, 100, 0, replica);
                assertSame(mode, entry.writeMode(), mode + (replica ? " replica" : ""));
                assertEquals(replica, entry.replica());
                assertSame(entry, entry.item(), "the entry is its own eviction node");
                assertEquals(100, entry.trackedBytes());
            }
        }
    }

    @Test
    void theL2StateAndTheRemovedFlagChangeIndependently()
    {
        final StoreEntry entry = new StoreEntry("k", 7, WriteMode.WRITE_BACK_L2_CACHE, 100, 0, true);
        assertSame(StoreEntry.L2State.NONE, entry.l2());
        assertFalse(entry.removed());
        entry.l2(StoreEntry.L2State.QUEUED);
        entry.markRemoved();
        assertTrue(entry.removed());
        assertSame(StoreEntry.L2State.QUEUED, entry.l2());
        entry.l2(StoreEntry.L2State.STORED);
        assertTrue(entry.removed(), "setting the L2 state keeps the removed flag");
        assertSame(StoreEntry.L2State.STORED, entry.l2());
        entry.l2(StoreEntry.L2State.NONE);
        assertSame(StoreEntry.L2State.NONE, entry.l2());
        assertSame(WriteMode.WRITE_BACK_L2_CACHE, entry.writeMode());
        assertTrue(entry.replica());
    }
}
