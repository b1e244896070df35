using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RuntimeCtl.Mpi;
using RuntimeCtl.TorchSharp.Mpi;
using static TorchSharp.torch;

// Scenarios of DataParallel under mpirun; each rank prints one JSON line the test checks.
//   average:   every parameter's gradient set to a known function of (rank, parameter, element), then averaged.
//   broadcast: parameters and buffers that differ by rank, then broadcast from rank 0.
//   bench N:   the cost of AverageGradients on an MLP of about a million float32 parameters, N times (a figure, not a test).
using var group = MpiProcessGroup.Initialize();
var scenario = args.Length > 0 ? args[0] : "average";
manual_seed(1000 + group.Rank);
var model = new Mixed(group.Rank);
var parallel = new DataParallel(model, group);
var output = new StringBuilder();
output.Append(CultureInfo.InvariantCulture, $"{{\"rank\":{group.Rank},\"size\":{group.Size}");
if (scenario == "bench")
{
    var mlp = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 512));
    var averager = new DataParallel(mlp, group);
    foreach (var parameter in mlp.parameters())
    {
        parameter.grad = ones_like(parameter);
    }

    var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
    averager.AverageGradients(); // warm-up: buffers sized, connections made
    var watch = System.Diagnostics.Stopwatch.StartNew();
    for (var i = 0; i < rounds; i++)
    {
        averager.AverageGradients();
    }

    var parameters = mlp.parameters().Sum(p => p.numel());
    output.Append(CultureInfo.InvariantCulture, $",\"parameters\":{parameters},\"rounds\":{rounds},\"us_per_average\":{watch.Elapsed.TotalMicroseconds / rounds:F1}");
}
else if (scenario == "average")
{
    var index = 0;
    foreach (var parameter in model.parameters())
    {
        var n = (int)parameter.numel();
        var values = Enumerable.Range(0, n).Select(i => Mixed.Gradient(group.Rank, index, i)).ToArray();
        parameter.grad = parameter.dtype == ScalarType.Float32
            ? tensor(values.Select(v => (float)v).ToArray(), parameter.shape)
            : tensor(values, parameter.shape, ScalarType.Float64);
        index++;
    }

    parallel.AverageGradients();
    output.Append(",\"params\":[");
    output.AppendJoin(',', model.parameters().Select(p =>
        $"{{\"dtype\":\"{p.dtype}\",\"shape\":[{string.Join(',', p.shape)}],\"grad\":[{string.Join(',', p.dtype == ScalarType.Float32 ? p.grad!.data<float>().ToArray().Select(v => ((double)v).ToString("R", CultureInfo.InvariantCulture)) : p.grad!.data<double>().ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}]}}"));
    output.Append(']');
}
else
{
    output.Append(CultureInfo.InvariantCulture, $",\"before\":\"{Checksum(model)}\"");
    parallel.BroadcastParameters();
    output.Append(CultureInfo.InvariantCulture, $",\"after\":\"{Checksum(model)}\",\"count\":{model.Count.item<long>()}");
}

output.Append("}\n");

// One write(2) of the whole line: Console's 256-character chunks would interleave with other ranks' under mpirun.
using (var stdout = Console.OpenStandardOutput())
{
    stdout.Write(Encoding.UTF8.GetBytes(output.ToString()));
}

return 0;

static string Checksum(nn.Module module)
{
    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    foreach (var tensor in module.parameters().Concat(module.buffers()))
    {
        hash.AppendData(tensor.contiguous().bytes);
    }

    return Convert.ToHexString(hash.GetHashAndReset());
}

/// <summary>Parameters of several shapes and both float types, and an int64 buffer: what a model may hold.</summary>
internal sealed class Mixed : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> linear;
    private readonly TorchSharp.Modules.Parameter cube;
    private readonly TorchSharp.Modules.Parameter scalar;

    public Mixed(int rank)
        : base(nameof(Mixed))
    {
        linear = nn.Linear(3, 4);
        cube = new TorchSharp.Modules.Parameter(randn(2, 3, 2, dtype: ScalarType.Float64));
        scalar = new TorchSharp.Modules.Parameter(randn(Array.Empty<long>()));
        register_buffer("count", tensor((long)rank));
        RegisterComponents();
    }

    public Tensor Count => get_buffer("count")!;

    /// <summary>The gradient every test expects an average of: rank r, parameter p, element i.</summary>
    public static double Gradient(int rank, int parameter, int element) => (rank + 1) * ((parameter * 100) + element + 1) * 0.1;

    public override Tensor forward(Tensor input) => linear.forward(input);
}
