package io.ds4j.client.hetero;

import io.ds4j.common.DsException;

import java.util.ArrayList;
import java.util.List;

/**
 * The failed keys of one hetero batch call, collected as they fail: as everywhere in the SDK the call returns them and
 * throws only when every key failed, with the first failure's code and message (which say what to do next).
 */
final class FailedKeys
{
    private final List<String> keys = new ArrayList<>();
    private DsException first;

    void add(final String key, final DsException why)
    {
        keys.add(key);
        if (first == null)
        {
            first = why;
        }
    }

    void addAll(final List<String> failed, final DsException why)
    {
        for (final String key : failed)
        {
            add(key, why);
        }
    }

    int size()
    {
        return keys.size();
    }

    /** @throws DsException with the first failure's code when all {@code total} keys failed */
    List<String> result(final int total, final String operation)
    {
        if (keys.isEmpty())
        {
            return List.of();
        }
        if (keys.size() == total)
        {
            throw new DsException(first.code(), operation + " failed for all " + total + " keys; first: "
                + keys.getFirst() + ": " + first.detail(), first);
        }
        return List.copyOf(keys);
    }
}
