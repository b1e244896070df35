using System.Globalization;
using System.Text.Json;
using TorchSharp.Modules;

namespace RuntimeCtl.TorchSharp;

/// <summary>The standard controls of one <see cref="TorchSharpLoop"/>: their paths, validators, actions and current values.</summary>
/// <remarks>
/// Validators throw <see cref="ArgumentException"/>s without a parameter name, so that the message a sender reads in
/// the <c>failed</c> ack is exactly the sentence written here.
/// </remarks>
internal sealed class StandardControls
{
    public const string LearningRate = "optimizer.lr";
    public const string LearningRateMultiplier = "optimizer.lr.multiplier";
    public const string WeightDecay = "optimizer.weight_decay";
    public const string Momentum = "optimizer.momentum";
    public const string Betas = "optimizer.betas";
    public const string Dropout = "model.dropout.p";
    public const string GradClipNorm = "train.grad_clip_norm";
    public const string SaveCheckpoint = "save_ckpt";
    public const string LoadCheckpoint = "load_ckpt";
    public const string Pause = "train.pause";
    public const string Resume = "train.resume";
    public const string Stop = "train.stop";

    public const string CheckpointsFolder = "checkpoints";
    private const string DropoutModuleKeyword = "module";
    private const int MaxLabelLength = 200;

    private readonly TorchSharpLoop _loop;
    private readonly string? _checkpointRoot;
    private readonly string[] _allowedLoadRoots;
    private readonly Func<string?> _queueDirectory;
    private readonly Func<long> _commandPosition;
    private readonly Func<int> _rank;
    private readonly Func<IProcessGroup> _group;

    public StandardControls(TorchSharpLoop loop, TorchSharpControlsOptions options, Func<string?> queueDirectory, Func<long> commandPosition, Func<int> rank, Func<IProcessGroup>? group = null)
    {
        _loop = loop;
        _checkpointRoot = options.CheckpointRoot;
        _allowedLoadRoots = [.. options.AllowedLoadRoots];
        _queueDirectory = queueDirectory;
        _commandPosition = commandPosition;
        _rank = rank;
        _group = group ?? (() => ProcessGroup.SingleProcess);
        var optimizer = loop.Optimizer;
        HasGroups = OptimizerHyperparameters.GetLearningRates(optimizer).Count > 0;
        HasWeightDecay = OptimizerHyperparameters.HasWeightDecay(optimizer);
        HasMomentum = OptimizerHyperparameters.HasMomentum(optimizer);
        HasBetas = OptimizerHyperparameters.HasBetas(optimizer);
        HasDropout = DropoutRates.Get(loop.Model).Count > 0;
    }

    public bool HasGroups { get; }

    public bool HasWeightDecay { get; }

    public bool HasMomentum { get; }

    public bool HasBetas { get; }

    public bool HasDropout { get; }

    public static IReadOnlyList<ControlParameter> DropoutParameters { get; } =
        [new("p", "number", Required: true), new(DropoutModuleKeyword, "string", Required: false, Keyword: true)];

    /// <summary>Gets the paths this loop's controls take, in registration order.</summary>
    public IEnumerable<string> Paths
    {
        get
        {
            if (HasGroups)
            {
                yield return LearningRate;
                yield return LearningRateMultiplier;
            }

            if (HasWeightDecay)
            {
                yield return WeightDecay;
            }

            if (HasMomentum)
            {
                yield return Momentum;
            }

            if (HasBetas)
            {
                yield return Betas;
            }

            if (HasDropout)
            {
                yield return Dropout;
            }

            yield return GradClipNorm;
            yield return SaveCheckpoint;
            yield return LoadCheckpoint;
            yield return Pause;
            yield return Resume;
            yield return Stop;
        }
    }

    public static double ValidateLearningRate(double value) =>
        value >= 0 ? value : throw Refused($"{LearningRate} must be a learning rate of at least 0, got {Text(value)} (e.g. 0.001; 0 freezes the parameters)");

    public static double ValidateMultiplier(double value) =>
        value > 0 ? value : throw Refused($"{LearningRateMultiplier} must be a factor above 0, got {Text(value)} (e.g. 0.5 halves the learning rate)");

    public static double ValidateWeightDecay(double value) =>
        value >= 0 ? value : throw Refused($"{WeightDecay} must be at least 0, got {Text(value)} (e.g. 0.01; 0 turns weight decay off)");

    public double ValidateMomentum(double value)
    {
        if (value is < 0 or >= 1)
        {
            throw Refused($"{Momentum} must be at least 0 and below 1, got {Text(value)} (e.g. 0.9)");
        }

        if (value == 0 && _loop.Optimizer.ParamGroups.Any(g => g is ParamGroup { Options: SGD.Options { nesterov: true } }))
        {
            throw Refused($"{Momentum} cannot be 0 for SGD with Nesterov momentum (e.g. 0.9)");
        }

        return value;
    }

    public static (double, double) ValidateBetas(double beta1, double beta2) =>
        beta1 is < 0 or >= 1 || beta2 is < 0 or >= 1
            ? throw Refused($"{Betas} needs two values each at least 0 and below 1, got {Text(beta1)} and {Text(beta2)} (e.g. 0.9 0.999)")
            : (beta1, beta2);

    public static double? ValidateClipNorm(double? value) => value switch
    {
        null or 0 => null,
        > 0 => value,
        _ => throw Refused($"{GradClipNorm} must be a norm above 0, or 0 or null to turn clipping off, got {Text(value.Value)} (e.g. 1.0)"),
    };

    public ControlArguments ValidateDropout(ControlArguments arguments)
    {
        // The core's order: positional count, then types, then the value, then keyword arguments.
        if (arguments.Args.Count != 1)
        {
            throw Refused($"{Dropout} expects exactly 1 positional arg, got {arguments.Args.Count}");
        }

        var p = ReadNumber(arguments.Args[0], $"{Dropout}: argument 1 (p)");
        if (p is < 0 or >= 1)
        {
            throw Refused($"{Dropout} must be a probability at least 0 and below 1, got {Text(p)} (e.g. 0.1; 0 turns dropout off)");
        }

        foreach (var (key, value) in arguments.Kwargs)
        {
            if (key != DropoutModuleKeyword)
            {
                throw Refused($"{Dropout} got an unexpected keyword argument '{key}' (it takes '{DropoutModuleKeyword}')");
            }

            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            {
                throw Refused($"{Dropout}: keyword '{DropoutModuleKeyword}' must be the name of a dropout module, got {Truncate(value.GetRawText())}");
            }

            var name = value.GetString()!;
            var modules = DropoutRates.Get(_loop.Model);
            if (!modules.Any(m => m.Name == name))
            {
                throw Refused($"{Dropout}: the model has no dropout module named '{name}'; they are: {string.Join(", ", modules.Select(m => m.Name))}");
            }
        }

        return arguments.WithArgs(p);
    }

    public static SaveCheckpointArguments ValidateSave(SaveCheckpointArguments arguments)
    {
        CheckLabel(SaveCheckpoint, arguments.Label);
        return arguments;
    }

    public static StopArguments ValidateStop(StopArguments arguments)
    {
        CheckLabel(Stop, arguments.Label);
        if (arguments.Label is not null && !arguments.Save)
        {
            throw Refused($"{Stop}: 'label' names the checkpoint saved before stopping, so it needs \"save\": true");
        }

        return arguments;
    }

    public static LoadCheckpointArguments ValidateLoad(LoadCheckpointArguments arguments)
    {
        if ((arguments.Label is null) == (arguments.Path is null))
        {
            throw Refused($"{LoadCheckpoint} needs exactly one of the keyword arguments 'label' (a checkpoint under the checkpoint root) and 'path' (an absolute directory)");
        }

        CheckLabel(LoadCheckpoint, arguments.Label);
        if (arguments.Path is { } path && (string.IsNullOrWhiteSpace(path) || !System.IO.Path.IsPathFullyQualified(path)))
        {
            throw Refused($"{LoadCheckpoint}: 'path' must be an absolute directory, got '{path}' (the trainer's working directory is not the sender's; use 'label' for a checkpoint under the checkpoint root)");
        }

        return arguments;
    }

    public void SetLearningRate(double value) => OptimizerHyperparameters.SetLearningRate(_loop.Optimizer, value);

    public void MultiplyLearningRate(double factor) => OptimizerHyperparameters.MultiplyLearningRate(_loop.Optimizer, factor);

    public void SetWeightDecay(double value) => OptimizerHyperparameters.SetWeightDecay(_loop.Optimizer, value);

    public void SetMomentum(double value) => OptimizerHyperparameters.SetMomentum(_loop.Optimizer, value);

    public void SetBetas(double beta1, double beta2) => OptimizerHyperparameters.SetBetas(_loop.Optimizer, beta1, beta2);

    public void SetDropout(ControlArguments arguments)
    {
        var p = arguments.Args[0].GetDouble();
        if (arguments.Kwargs.TryGetValue(DropoutModuleKeyword, out var module) && module.ValueKind == JsonValueKind.String)
        {
            DropoutRates.Set(_loop.Model, module.GetString()!, p);
        }
        else
        {
            DropoutRates.SetAll(_loop.Model, p);
        }
    }

    public void SetClipNorm(double? value) => _loop.GradientClip.MaxNorm = value;

    public void Save(string? label)
    {
        // Data-parallel ranks hold the same weights: rank 0 writes the one copy.
        if (_rank() != 0)
        {
            return;
        }

        var root = CheckpointRoot();
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(root);
        }
        else
        {
            Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        CheckpointTrust.Check(root); // a root another user can write could swap what we save for their own

        var step = _loop.Step;
        var directory = Path.Combine(root, label ?? string.Create(CultureInfo.InvariantCulture, $"step-{step}"));
        _loop.AddSaved(TorchSharpCheckpoint.Save(directory, _loop.Model, _loop.Optimizer, step, _commandPosition()));
    }

    public void Load(LoadCheckpointArguments arguments)
    {
        var group = _group();
        if (group.Size == 1)
        {
            LoadFrom(CheckedDirectory(arguments));
            return;
        }

        // Several ranks: rank 0 checks and reads the checkpoint (it wrote it, on its own disk) and sends its files to
        // every rank, which loads them from a private copy: the hosts need not share a disk. Every rank runs this
        // control for the same command at the same point, so the broadcasts match; a failure on rank 0 is broadcast
        // too, so no rank waits for files that never come.
        string? directory = null;
        byte[] files = [];
        string? problem = null;
        if (group.Rank == 0)
        {
            try
            {
                directory = CheckedDirectory(arguments);
                files = CheckpointFiles.Pack(directory);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or RuntimeCtlException)
            {
                problem = e.Message;
            }
        }

        var received = CheckpointFiles.Broadcast(group, files, problem);
        if (received.Problem is { } failed)
        {
            throw group.Rank == 0 ? Refused(failed) : new IOException($"rank 0 could not send the checkpoint: {failed}");
        }

        if (group.Rank == 0)
        {
            LoadFrom(directory!);
            return;
        }

        var copy = CheckpointFiles.Unpack(received.Files);
        try
        {
            LoadFrom(copy);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private string CheckedDirectory(LoadCheckpointArguments arguments)
    {
        var root = CheckpointRoot();
        var directory = Path.GetFullPath(arguments.Path ?? Path.Combine(root, arguments.Label!));
        if (!_allowedLoadRoots.Prepend(root).Any(r => IsUnder(directory, r)))
        {
            throw Refused($"{LoadCheckpoint}: '{directory}' is outside the checkpoint root '{root}'; only checkpoints this job saved can be loaded (the program can allow more roots with TorchSharpControlsOptions.AllowedLoadRoots)");
        }

        if (Directory.Exists(directory))
        {
            if (IsUnder(directory, root))
            {
                CheckpointTrust.Check(root);
            }

            CheckpointTrust.Check(directory);
        }

        return directory;
    }

    private void LoadFrom(string directory)
    {
        var info = TorchSharpCheckpoint.Load(directory, _loop.Model, _loop.Optimizer);
        _loop.Step = info.Step;
        _loop.LoadedCheckpoint = info;
    }

    public void RequestStop(StopArguments arguments)
    {
        // Save first: a failed save leaves the loop running, and the failed ack says why.
        if (arguments.Save)
        {
            Save(arguments.Label);
        }

        _loop.StopRequested = true;
    }

    public object? LearningRateValue() => Collapse(OptimizerHyperparameters.GetLearningRates(_loop.Optimizer));

    public object? WeightDecayValue() => Collapse(OptimizerHyperparameters.GetWeightDecays(_loop.Optimizer));

    public object? MomentumValue() => Collapse(OptimizerHyperparameters.GetMomenta(_loop.Optimizer));

    public object? BetasValue()
    {
        var betas = OptimizerHyperparameters.GetBetas(_loop.Optimizer);
        var pairs = betas.Select(b => new[] { b.Beta1, b.Beta2 }).ToList();
        return betas.Distinct().Count() == 1 ? pairs[0] : pairs;
    }

    public object? DropoutValue()
    {
        var modules = DropoutRates.Get(_loop.Model);
        return modules.Select(m => m.Probability).Distinct().Count() == 1
            ? modules[0].Probability
            : modules.ToDictionary(m => m.Name, m => (object?)m.Probability, StringComparer.Ordinal);
    }

    public object? ClipNormValue() => _loop.GradientClip.MaxNorm;

    public object? LastSavedValue() => _loop.SavedCheckpoints.Count > 0 ? _loop.SavedCheckpoints[^1].Directory : null;

    public object? LastLoadedValue() => _loop.LoadedCheckpoint?.Directory;

    public object? PausedValue() => _loop.IsPaused;

    public object? StopValue() => _loop.StopRequested;

    private static bool IsUnder(string directory, string root)
    {
        var prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return directory.StartsWith(prefix, StringComparison.Ordinal) && !directory[prefix.Length..].Split(Path.DirectorySeparatorChar).Contains("..");
    }

    private string CheckpointRoot() =>
        _checkpointRoot
        ?? Path.Combine(
            _queueDirectory() ?? throw new InvalidOperationException("The checkpoint root is under the queue directory, which is not configured yet; call Configure first or set TorchSharpControlsOptions.CheckpointRoot."),
            CheckpointsFolder);

    private static void CheckLabel(string path, string? label)
    {
        if (label is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(label) || label != label.Trim())
        {
            throw Refused($"{path}: 'label' must be a non-empty name without surrounding spaces, got '{label}'");
        }

        if (label.IndexOfAny(['/', '\\', '\0']) >= 0 || label.Contains("..", StringComparison.Ordinal) || label.StartsWith('.'))
        {
            throw Refused($"{path}: 'label' must be a plain directory name (no '/', '\\', '..' or leading '.'), got '{Truncate(label)}'");
        }

        if (label.Length > MaxLabelLength)
        {
            throw Refused($"{path}: 'label' must be at most {MaxLabelLength} characters, got {label.Length}");
        }
    }

    private static double ReadNumber(JsonElement value, string what)
    {
        // As the core's typed controls: a JSON number or a numeric string (a shell user who quoted "0.5").
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d))
        {
            return d;
        }

        if (value.ValueKind == JsonValueKind.String
            && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d)
            && double.IsFinite(d))
        {
            return d;
        }

        throw Refused($"{what} must be a number, got {Truncate(value.GetRawText())}");
    }

    // One number when every group agrees (the common case, and what a script reading the value expects), else one per group.
    private static object? Collapse(IReadOnlyList<double> values) => values.Distinct().Count() == 1 ? values[0] : values;

    private static ArgumentException Refused(string message) => new(message);

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Truncate(string text) => text.Length > 60 ? text[..57] + "..." : text;
}
