using System.Security.Cryptography;
using System.Text.Json;
using TorchSharp.Modules;
using Module = TorchSharp.torch.nn.Module;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// Saves a model, its optimizer, the step and the applied command position into a checkpoint directory, and loads
/// them back after checking that the checkpoint fits.
/// </summary>
/// <remarks>
/// A checkpoint directory holds <c>model.bin</c> (TorchSharp's <c>module.save</c>), <c>optimizer.bin</c>
/// (<c>save_state_dict</c>: moments, step counts, and each group's learning rate and weight decay) and
/// <c>manifest.json</c> (the architecture signature and a SHA-256 of both files). Loading restores both bit for bit,
/// including the saved learning rate and weight decay. Not thread-safe: call between steps, on the training thread.
/// </remarks>
public static class TorchSharpCheckpoint
{
    /// <summary>The name of the manifest file in a checkpoint directory.</summary>
    public const string ManifestFileName = "manifest.json";

    private const string ModelFileName = "model.bin";
    private const string OptimizerFileName = "optimizer.bin";

    /// <summary>Saves a checkpoint into <paramref name="directory"/>, replacing an earlier checkpoint there.</summary>
    /// <param name="directory">The checkpoint directory; created when missing. Its parent must exist.</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The model's optimizer.</param>
    /// <param name="step">The training step reached.</param>
    /// <param name="commandPosition">The command-queue position up to which commands have been applied.</param>
    /// <returns>What was saved.</returns>
    /// <remarks>
    /// The files are written into a sibling directory first and moved into place at the end, so an interrupted save
    /// leaves the previous checkpoint (or none), never a half-written one.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> or <paramref name="commandPosition"/> is negative.</exception>
    /// <exception cref="IOException"><paramref name="directory"/> exists, is not empty and holds no checkpoint.</exception>
    public static TorchSharpCheckpointInfo Save(string directory, Module model, OptimizerHelper optimizer, long step, long commandPosition)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfNegative(commandPosition);

        var target = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !File.Exists(Path.Combine(target, ManifestFileName)))
        {
            throw new IOException(
                $"Cannot save a checkpoint into '{target}': the directory is not empty and holds no checkpoint ({ManifestFileName}). Choose a new or empty directory.");
        }

        var parent = Path.GetDirectoryName(target) ?? throw new IOException($"Cannot save a checkpoint into the root directory '{target}'. Choose a subdirectory.");
        var name = Path.GetFileName(target);
        var staging = Path.Combine(parent, $".{name}.saving-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(staging);
        }
        else
        {
            Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); // owner-only, as the queue
        }

        try
        {
            var modelPath = Path.Combine(staging, ModelFileName);
            var optimizerPath = Path.Combine(staging, OptimizerFileName);
            model.save(modelPath);
            optimizer.save_state_dict(optimizerPath);

            var manifest = new CheckpointManifest
            {
                Format = CheckpointManifest.FormatName,
                Version = CheckpointManifest.CurrentVersion,
                Step = step,
                CommandPosition = commandPosition,
                ModelFile = ModelFileName,
                ModelSha256 = Sha256(modelPath),
                OptimizerFile = OptimizerFileName,
                OptimizerSha256 = Sha256(optimizerPath),
                OptimizerType = optimizer.GetType().Name,
                OptimizerGroups = OptimizerSignature(optimizer),
                Tensors = [.. ModelSignature(model).Select(t => new ManifestTensor { Name = t.Name, Shape = t.Shape, Dtype = t.DType })],
            };
            File.WriteAllBytes(Path.Combine(staging, ManifestFileName), JsonSerializer.SerializeToUtf8Bytes(manifest, CheckpointJsonContext.Default.CheckpointManifest));

            Replace(target, staging, parent, name);
            return ToInfo(target, manifest);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>Reads the manifest of the checkpoint in <paramref name="directory"/> without loading anything.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">The directory holds no manifest.</exception>
    /// <exception cref="InvalidDataException">The manifest is not a checkpoint manifest of a version this library reads.</exception>
    public static TorchSharpCheckpointInfo ReadInfo(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        return ToInfo(full, ReadManifest(full));
    }

    /// <summary>
    /// Loads the checkpoint in <paramref name="directory"/> into <paramref name="model"/> and <paramref name="optimizer"/>,
    /// after checking that it fits them; a checkpoint that does not fit is refused before anything is touched.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="model">The model, built with the same architecture as the saved one.</param>
    /// <param name="optimizer">An optimizer of the same type over the same parameter groups as the saved one.</param>
    /// <returns>What was loaded, including the step and the applied command position to resume from.</returns>
    /// <exception cref="CheckpointMismatchException">Parameter names, shapes or types, or the optimizer's type or groups differ.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">A checkpoint file is missing.</exception>
    /// <exception cref="InvalidDataException">The manifest is unreadable, or a file does not match its recorded SHA-256.</exception>
    public static TorchSharpCheckpointInfo Load(string directory, Module model, OptimizerHelper optimizer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);

        var full = Path.GetFullPath(directory);
        var manifest = ReadManifest(full);
        var differences = Compare(manifest, model, optimizer);
        if (differences.Count > 0)
        {
            throw new CheckpointMismatchException(full, differences);
        }

        var modelPath = Path.Combine(full, manifest.ModelFile);
        var optimizerPath = Path.Combine(full, manifest.OptimizerFile);
        VerifyHash(modelPath, manifest.ModelSha256);
        VerifyHash(optimizerPath, manifest.OptimizerSha256);

        model.load(modelPath, strict: true);
        optimizer.load_state_dict(optimizerPath);
        return ToInfo(full, manifest);
    }

    /// <summary>Gets the architecture signature of <paramref name="model"/>: every <c>state_dict()</c> entry with its shape and type.</summary>
    internal static IReadOnlyList<CheckpointTensor> ModelSignature(Module model) =>
        [.. model.state_dict().Select(e => new CheckpointTensor(e.Key, e.Value.shape, e.Value.dtype.ToString()))];

    private static List<IReadOnlyList<IReadOnlyList<long>>> OptimizerSignature(OptimizerHelper optimizer) =>
        [.. optimizer.ParamGroups.Cast<ParamGroup>().Select(g => (IReadOnlyList<IReadOnlyList<long>>)[.. g.Parameters.Select(p => (IReadOnlyList<long>)p.shape)])];

    private static List<string> Compare(CheckpointManifest manifest, Module model, OptimizerHelper optimizer)
    {
        var differences = new List<string>();
        var saved = manifest.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var current = ModelSignature(model);
        foreach (var tensor in current)
        {
            if (!saved.Remove(tensor.Name, out var old))
            {
                differences.Add($"The model has '{tensor.Name}' {tensor.ShapeText}, which the checkpoint lacks.");
            }
            else if (!old.Shape.SequenceEqual(tensor.Shape) || old.Dtype != tensor.DType)
            {
                differences.Add($"'{tensor.Name}' is {tensor.ShapeText} {tensor.DType} in the model but [{string.Join(", ", old.Shape)}] {old.Dtype} in the checkpoint.");
            }
        }

        differences.AddRange(saved.Values.Select(t => $"The checkpoint has '{t.Name}' [{string.Join(", ", t.Shape)}], which the model lacks."));

        var optimizerType = optimizer.GetType().Name;
        if (optimizerType != manifest.OptimizerType)
        {
            differences.Add($"The optimizer is {optimizerType} but the checkpoint was saved from {manifest.OptimizerType}.");
        }

        var groups = OptimizerSignature(optimizer);
        if (groups.Count != manifest.OptimizerGroups.Count)
        {
            differences.Add($"The optimizer has {groups.Count} parameter group(s) but the checkpoint has {manifest.OptimizerGroups.Count}.");
        }
        else
        {
            for (var i = 0; i < groups.Count; i++)
            {
                if (!groups[i].Select(Shape).SequenceEqual(manifest.OptimizerGroups[i].Select(Shape), StringComparer.Ordinal))
                {
                    differences.Add($"Optimizer parameter group {i} holds parameters of shapes {string.Join(" ", groups[i].Select(Shape))} but the checkpoint's holds {string.Join(" ", manifest.OptimizerGroups[i].Select(Shape))}.");
                }
            }
        }

        return differences;

        static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
    }

    private static CheckpointManifest ReadManifest(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"There is no checkpoint directory '{directory}'. Check the path, or save a checkpoint there first.");
        }

        var path = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{directory}' holds no {ManifestFileName}, so it is not a complete checkpoint. Point at a directory written by TorchSharpCheckpoint.Save.", path);
        }

        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(File.ReadAllBytes(path), CheckpointJsonContext.Default.CheckpointManifest);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The checkpoint manifest '{path}' is not valid: {ex.Message}", ex);
        }

        if (manifest is null || manifest.Format != CheckpointManifest.FormatName)
        {
            throw new InvalidDataException($"'{path}' is not a RuntimeCtl TorchSharp checkpoint manifest (its format is not '{CheckpointManifest.FormatName}').");
        }

        if (manifest.Version != CheckpointManifest.CurrentVersion)
        {
            throw new InvalidDataException($"The checkpoint manifest '{path}' has version {manifest.Version}; this library reads version {CheckpointManifest.CurrentVersion}. Load it with the RuntimeCtl version that saved it.");
        }

        if (Path.GetFileName(manifest.ModelFile) != manifest.ModelFile || Path.GetFileName(manifest.OptimizerFile) != manifest.OptimizerFile)
        {
            throw new InvalidDataException($"The checkpoint manifest '{path}' names files outside its directory.");
        }

        return manifest;
    }

    private static void Replace(string target, string staging, string parent, string name)
    {
        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            return;
        }

        // Two renames: the old checkpoint stays complete until the new one is in place.
        var retired = Path.Combine(parent, $".{name}.old-{Guid.NewGuid():N}");
        Directory.Move(target, retired);
        Directory.Move(staging, target);
        Directory.Delete(retired, recursive: true);
    }

    private static void VerifyHash(string path, string expected)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The checkpoint file '{path}' is missing. The checkpoint is incomplete; save it again.", path);
        }

        var actual = Sha256(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"The checkpoint file '{path}' does not match the SHA-256 in its manifest (expected {expected}, found {actual}): it was changed or damaged after saving. Nothing was loaded.");
        }
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static TorchSharpCheckpointInfo ToInfo(string directory, CheckpointManifest manifest) => new()
    {
        Directory = directory,
        Step = manifest.Step,
        CommandPosition = manifest.CommandPosition,
        OptimizerType = manifest.OptimizerType,
        Tensors = [.. manifest.Tensors.Select(t => new CheckpointTensor(t.Name, t.Shape, t.Dtype))],
    };
}
