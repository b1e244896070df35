using System.Buffers.Binary;
using System.Text;

namespace RuntimeCtl;

/// <content>The multi-rank poll of PROTOCOL §7.</content>
public sealed partial class RuntimeController<TContext>
{

    /// <summary>
    /// Rank 0 decides whether the poll is due (a time-based one by its clock), reads and sorts the batch, and
    /// broadcasts a header (due, payload length, calls until the ranks meet again, backlog) and the dispatched
    /// commands as one buffer; every rank applies them in order; rank 0 gathers the failures and writes one ack per
    /// command.
    /// </summary>
    private IReadOnlyList<Ack> RankedPoll(TContext context, long? step, int? everySteps, TimeSpan? every, bool decided)
    {
        var now = NowMs();
        List<Slot>? plan = null;
        byte[] payload = [];
        Span<byte> header = stackalloc byte[16];
        long started = 0;
        if (_group.Rank == 0)
        {
            var due = decided || !_polled || _schedule.BacklogWaiting || (now - _lastDueMs) * TimeSpan.TicksPerMillisecond >= every!.Value.Ticks;
            var backlog = false;
            if (due)
            {
                started = PollStarted();
                plan = _engine!.Prepare(step, now, Math.Min(_options.MaxCommandsPerPoll ?? int.MaxValue, QueueEngine<TContext>.BatchLines));
                _engine.BeginCollective(plan, step); // a plan whose write-ahead record fails is deferred whole
                payload = Encode(plan);
                backlog = _engine.More;
                if (every is not null)
                {
                    _lastDueMs = now;
                }
            }

            var calls = every is { } interval ? _schedule.CallsUntilNext(interval, now, now - _lastDueMs, backlog) : 0;
            BinaryPrimitives.WriteInt32LittleEndian(header, due ? 1 : 0);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], calls);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], backlog ? 1 : 0);
        }

        _group.Broadcast(header);
        _polled = true;
        var more = BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != 0;
        if (every is { } everyTime)
        {
            _schedule.MeetAgainAfter(everyTime, BinaryPrimitives.ReadInt32LittleEndian(header[8..]), more);
        }
        else
        {
            _schedule.BacklogWaiting = more;
            if (more)
            {
                _lastDueStep = long.MinValue; // the next step-based call is due on every rank, whatever its step
            }
        }

        if (BinaryPrimitives.ReadInt32LittleEndian(header) == 0)
        {
            return NoAcks;
        }

        if (_group.Rank != 0)
        {
            started = PollStarted();
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        IReadOnlyList<Ack> acks = NoAcks;
        if (length > 0)
        {
            if (_group.Rank != 0)
            {
                payload = new byte[length];
            }

            _group.Broadcast(payload);
            var lines = _group.Rank == 0 ? Dispatched(plan!) : Decode(payload);
            var outcomes = new Outcome<TContext>[lines.Count];
            for (var i = 0; i < lines.Count; i++)
            {
                outcomes[i] = CommandExecutor.Execute(_controls, context, lines[i]);
            }

            var rankErrors = GatherFailures(outcomes);
            if (_group.Rank == 0)
            {
                acks = _engine!.Finish(plan!, step, Spread(plan!, outcomes), _group.Size, Spread(plan!, rankErrors!));
            }
            else
            {
                foreach (var line in lines)
                {
                    line.Dispose();
                }
            }
        }
        else if (_group.Rank == 0 && plan is { Count: > 0 })
        {
            acks = _engine!.Finish(plan, step, new Outcome<TContext>[plan.Count], _group.Size);
        }

        if (_group.Rank == 0)
        {
            _engine!.AfterPoll(step, now, everySteps, every);
        }

        return Observed(acks, started);
    }

    private static byte[] Encode(List<Slot> plan)
    {
        var size = 0;
        foreach (var slot in plan)
        {
            if (slot.Refusal is null)
            {
                size += 4 + slot.Line.Bytes.Length;
            }
        }

        var payload = new byte[size];
        var at = 0;
        foreach (var slot in plan)
        {
            if (slot.Refusal is null)
            {
                BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(at), slot.Line.Bytes.Length);
                slot.Line.Bytes.Span.CopyTo(payload.AsSpan(at + 4));
                at += 4 + slot.Line.Bytes.Length;
            }
        }

        return payload;
    }

    private static List<CommandLine> Decode(byte[] payload)
    {
        var lines = new List<CommandLine>();
        for (var at = 0; at < payload.Length;)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(at));
            lines.Add(CommandLine.Parse(0, payload.AsMemory(at + 4, length)));
            at += 4 + length;
        }

        return lines;
    }

    private static List<CommandLine> Dispatched(List<Slot> plan) => plan.Where(s => s.Refusal is null).Select(s => s.Line).ToList();

    /// <summary>Places the per-dispatched-command values at their slots (refused slots get defaults).</summary>
    private static T[] Spread<T>(List<Slot> plan, T[] dispatched)
    {
        var result = new T[plan.Count];
        var next = 0;
        for (var i = 0; i < plan.Count; i++)
        {
            if (plan[i].Refusal is null)
            {
                result[i] = dispatched[next++];
            }
        }

        return result;
    }

    /// <summary>Gathers every rank's failures to rank 0: lengths first, then (only if some rank failed) the padded messages.</summary>
    private IReadOnlyDictionary<int, string>[]? GatherFailures(Outcome<TContext>[] outcomes)
    {
        var mine = EncodeFailures(outcomes);
        Span<byte> lengthBlock = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(lengthBlock, mine.Length);
        var lengths = new byte[_group.Rank == 0 ? 4 * _group.Size : 0];
        _group.Gather(lengthBlock, lengths);
        Span<byte> maxBlock = stackalloc byte[4];
        if (_group.Rank == 0)
        {
            var max = 0;
            for (var r = 0; r < _group.Size; r++)
            {
                max = Math.Max(max, BinaryPrimitives.ReadInt32LittleEndian(lengths.AsSpan(4 * r)));
            }

            BinaryPrimitives.WriteInt32LittleEndian(maxBlock, max);
        }

        _group.Broadcast(maxBlock);
        var blockSize = BinaryPrimitives.ReadInt32LittleEndian(maxBlock);
        var result = _group.Rank == 0 ? new Dictionary<int, string>[outcomes.Length] : null;
        if (result is not null)
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = [];
            }
        }

        if (blockSize == 0)
        {
            return result;
        }

        var block = new byte[blockSize];
        mine.CopyTo(block, 0);
        var all = new byte[_group.Rank == 0 ? blockSize * _group.Size : 0];
        _group.Gather(block, all);
        if (result is null)
        {
            return null;
        }

        for (var r = 0; r < _group.Size; r++)
        {
            var used = BinaryPrimitives.ReadInt32LittleEndian(lengths.AsSpan(4 * r));
            var span = all.AsSpan(r * blockSize, used);
            while (!span.IsEmpty)
            {
                var index = BinaryPrimitives.ReadInt32LittleEndian(span);
                var messageLength = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
                result[index][r] = Encoding.UTF8.GetString(span.Slice(8, messageLength));
                span = span[(8 + messageLength)..];
            }
        }

        return result;
    }

    private static byte[] EncodeFailures(Outcome<TContext>[] outcomes)
    {
        using var stream = new MemoryStream();
        Span<byte> head = stackalloc byte[8];
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Status == AckStatus.Applied)
            {
                continue;
            }

            var message = Encoding.UTF8.GetBytes(outcomes[i].Error ?? string.Empty);
            BinaryPrimitives.WriteInt32LittleEndian(head, i);
            BinaryPrimitives.WriteInt32LittleEndian(head[4..], message.Length);
            stream.Write(head);
            stream.Write(message);
        }

        return stream.ToArray();
    }
}
