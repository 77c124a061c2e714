package io.ds4j.worker.object;

import io.ds4j.common.ConsistencyType;

import java.util.ArrayList;
import java.util.List;

/**
 * What the object interface keeps with a key's entry ({@link io.ds4j.worker.store.StoreEntry#attachment()}) beyond
 * what KV needs: the consistency model, whether the object is sealed, and the children this entry holds a nested
 * global reference on. Allocated only for entries published through the object interface, so KV entries stay lean.
 */
public final class ObjectState implements io.ds4j.worker.store.StoreEntry.Attachment
{
    private final ConsistencyType consistency;
    private volatile boolean sealed;
    /**
     * Children this entry holds one reference on under the holder "nested:&lt;key&gt;"; guarded by the
     * {@link ObjectService}'s lock. Released when the entry stops being current, or moved to the entry that
     * republishes the same object.
     */
    List<String> nested = new ArrayList<>();

    ObjectState(final ConsistencyType consistency)
    {
        this.consistency = consistency;
    }

    public ConsistencyType consistency()
    {
        return consistency;
    }

    @Override
    public boolean sealed()
    {
        return sealed;
    }

    void seal()
    {
        sealed = true;
    }

    @Override
    public String toString()
    {
        return consistency + (sealed ? ", sealed" : "") + ", " + nested.size() + " nested";
    }
}
