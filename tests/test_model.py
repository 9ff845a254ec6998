"""MiMo-AE model: shapes, fusion weights, masks, gradients, grouped == loop, registry, determinism."""

from __future__ import annotations

import pytest
import torch

from mimo_lib.config import ModelConfig, ParamsError, load_params
from mimo_lib.model import FUSIONS, Fusion, build_model, get_fusion, parameter_counts, register_fusion, summarize, trace_shapes
from mimo_lib.model.decoder import LatentToMap


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread avoids oversubscribing a CPU shared with other test processes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


MODALITIES = ["ECG", "PPG", "RESP"]


def tiny(**overrides: object) -> ModelConfig:
    base = dict(latent_dim=16, latent_steps=4, base_width=4, stages=[1, 1, 1], compress_channels=4, attention_heads=2)
    return ModelConfig(**{**base, **overrides})


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("bottleneck", ["flat", "temporal"])
@pytest.mark.parametrize("fusion", ["concat", "gated", "attention"])
@pytest.mark.parametrize("length", [240, 250, 97, 400, 1000])
def test_shapes_for_every_configuration(fusion: str, bottleneck: str, grouped: bool, length: int) -> None:
    model = build_model(tiny(fusion=fusion, bottleneck=bottleneck, grouped=grouped), MODALITIES, length)
    x = torch.randn(3, len(MODALITIES), length)
    out = model(x)
    assert out.reconstruction.shape == (3, 3, length)
    assert out.latent.shape == (3, 16)
    assert out.weights.shape == (3, 3)
    latent, weights = model.encode(x)
    assert torch.equal(latent, out.latent) and torch.equal(weights, out.weights)
    assert model.decode(latent).shape == (3, 3, length)


def test_no_zero_padded_tail() -> None:
    model = build_model(tiny(), MODALITIES, 97)
    rec = model(torch.randn(4, 3, 97)).reconstruction
    assert (rec[..., -5:].abs().sum(dim=-1) > 0).all()


@pytest.mark.parametrize("bottleneck", ["flat", "temporal"])
@pytest.mark.parametrize("fusion", ["concat", "gated", "attention"])
def test_weights_sum_to_one_and_absent_modalities_get_none(fusion: str, bottleneck: str) -> None:
    model = build_model(tiny(fusion=fusion, bottleneck=bottleneck), MODALITIES, 120)
    x = torch.randn(4, 3, 120)
    assert torch.allclose(model(x).weights.sum(dim=1), torch.ones(4), atol=1e-5)
    present = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=torch.float32)
    weights = model(x, present).weights
    assert torch.allclose(weights.sum(dim=1), torch.ones(4), atol=1e-5)
    assert (weights[present == 0] == 0).all()
    assert (weights[present == 1] > 0).all()


@pytest.mark.parametrize("fusion", ["concat", "gated", "attention"])
def test_absent_modality_input_does_not_matter(fusion: str) -> None:
    model = build_model(tiny(fusion=fusion), MODALITIES, 80).eval()
    x = torch.randn(2, 3, 80)
    changed = x.clone()
    changed[:, 1] = torch.randn(2, 80) * 10
    present = torch.tensor([[1.0, 0.0, 1.0]] * 2)
    assert torch.allclose(model(x, present).latent, model(changed, present).latent)
    changed[:, 1] = float("nan")  # a sensor that delivered nothing
    assert torch.allclose(model(x, present).latent, model(changed, present).latent)


def test_uniform_weights_for_concat() -> None:
    model = build_model(tiny(fusion="concat"), MODALITIES, 64)
    assert torch.allclose(model(torch.randn(2, 3, 64)).weights, torch.full((2, 3), 1 / 3))


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("fusion", ["concat", "gated", "attention"])
def test_gradients_reach_every_modality_stem(fusion: str, grouped: bool) -> None:
    # seeded: in 2-3 % of random starts all of this tiny model's 4 latent-map channels start below zero, so the
    # ReLU after the latent map passes no gradient at all (at the default 16 channels about 11 % start so)
    torch.manual_seed(0)
    model = build_model(tiny(fusion=fusion, grouped=grouped), MODALITIES, 100)
    model(torch.randn(4, 3, 100)).reconstruction.pow(2).mean().backward()
    for stem in model.encoder.stems():
        per_modality = stem.weight.grad.reshape(-1, stem.weight.grad.shape[0] // stem.groups, *stem.weight.shape[1:])
        assert (per_modality.abs().flatten(1).sum(dim=1) > 0).all()
    assert len(model.encoder.stems()) == (1 if grouped else 3)


@pytest.mark.parametrize("fusion", ["concat", "gated", "attention"])
def test_grouped_and_loop_compute_the_same_function(fusion: str) -> None:
    loop = build_model(tiny(fusion=fusion, grouped=False), MODALITIES, 90)
    grouped = build_model(tiny(fusion=fusion, grouped=True), MODALITIES, 90)
    state = {}
    for key, value in loop.state_dict().items():
        parts = key.split(".")
        if parts[0] in ("encoder", "decoder") and parts[1] == "branches":
            if parts[2] != "0":
                continue
            stacked = [loop.state_dict()[".".join([*parts[:2], str(m), *parts[3:]])] for m in range(3)]
            state[key] = stacked[0] if value.dim() == 0 else torch.cat(stacked, dim=0)
        else:
            state[key] = value
    grouped.load_state_dict(state)
    x = torch.randn(5, 3, 90)
    for mode in ("train", "eval"):
        loop.train(mode == "train")
        grouped.train(mode == "train")
        a, b = loop(x), grouped(x)
        assert torch.allclose(a.reconstruction, b.reconstruction, atol=1e-5)
        assert torch.allclose(a.latent, b.latent, atol=1e-5)


def test_same_seed_same_model_and_outputs() -> None:
    x = torch.randn(3, 3, 150)
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        model = build_model(tiny(fusion="attention", dropout=0.1), MODALITIES, 150)
        outs.append(model(x))
    assert torch.equal(outs[0].reconstruction, outs[1].reconstruction)
    assert torch.equal(outs[0].latent, outs[1].latent)


def test_unknown_fusion_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown fusion 'sum'.*attention.*concat.*gated"):
        get_fusion("sum")
    with pytest.raises(ParamsError, match=r"model\.fusion.*'sum'.*\['attention', 'concat', 'gated'\]"):
        load_params(overrides=["model.fusion=sum"])


def test_new_fusion_is_one_registered_class() -> None:
    @register_fusion("first_present")
    class FirstPresent(Fusion):
        def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            first = torch.zeros_like(present).scatter_(1, present.argmax(dim=1, keepdim=True), 1.0)
            weights = first[:, None, :].expand(tokens.shape[0], tokens.shape[1], -1)
            return (weights[..., None] * tokens).sum(dim=2), weights

    try:
        assert load_params(overrides=["model.fusion=first_present"]).model.fusion == "first_present"
        model = build_model(tiny(fusion="first_present"), MODALITIES, 64)
        out = model(torch.randn(2, 3, 64), torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]))
        assert torch.equal(out.weights, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    finally:
        FUSIONS.pop("first_present")


def test_attention_heads_must_divide_token_size() -> None:
    with pytest.raises(ValueError, match="attention_heads=3"):
        build_model(tiny(fusion="attention", attention_heads=3), MODALITIES, 64)


def test_wrong_input_shape_is_named() -> None:
    model = build_model(tiny(), MODALITIES, 64)
    with pytest.raises(ValueError, match=r"\[batch, 3, 64\].*got \[2, 3, 65\]"):
        model(torch.randn(2, 3, 65))


def test_params_drive_the_architecture() -> None:
    small = parameter_counts(build_model(tiny(), MODALITIES, 64))
    wide = parameter_counts(build_model(tiny(base_width=8), MODALITIES, 64))
    deep = parameter_counts(build_model(tiny(stages=[2, 2, 2]), MODALITIES, 64))
    assert wide["encoders"] > small["encoders"] and deep["decoders"] > small["decoders"]
    assert small["total"] == sum(v for k, v in small.items() if k != "total")


def test_summary_and_shape_trace() -> None:
    model = build_model(tiny(bottleneck="temporal"), MODALITIES, 97)
    assert "Total params" in summarize(model)
    table = trace_shapes(model)
    shapes = dict(zip(table["stage"], table["shape"], strict=True))
    assert shapes["input"] == (1, 3, 97)
    assert shapes["encoder stem"] == (1, 3 * model.config.base_width, model.lengths[1])
    assert shapes["decoder head"] == (1, 3, 97)
    assert shapes["bottleneck tokens"] == (1, 4, 3, 4)
    assert shapes["latent"] == (1, 16)
    assert shapes["reconstruction"] == (1, 3, 97)
    assert model.training


def test_light_block_has_pointwise_second_convolutions_and_fewer_parameters() -> None:
    basic = build_model(tiny(block="basic"), MODALITIES, 240)
    light = build_model(tiny(block="light"), MODALITIES, 240)

    def second_kernels(model: torch.nn.Module) -> set[int]:
        return {block.body[2][0].kernel_size[-1] for block in model.modules() if type(block).__name__ == "ResBlock"}

    assert second_kernels(light) == {1}
    assert second_kernels(basic) == {basic.config.kernel_size}
    assert parameter_counts(light)["total"] < parameter_counts(basic)["total"]
    out = light(torch.randn(2, 3, 240))
    assert out.reconstruction.shape == (2, 3, 240)
    out.reconstruction.pow(2).mean().backward()
    assert all(p.grad is not None for p in light.parameters() if p.requires_grad)


def test_unknown_block_is_rejected_naming_the_key() -> None:
    with pytest.raises(ParamsError, match="block"):
        load_params(None, ["model.block=bottleneck"])


@pytest.mark.parametrize("stem_stride", [1, 2, 3])
@pytest.mark.parametrize("length", [240, 97])
def test_stem_stride_sets_the_encoder_resolution(stem_stride: int, length: int) -> None:
    model = build_model(tiny(stem_stride=stem_stride), MODALITIES, length)
    assert model.lengths[1] == -(-length // stem_stride)
    assert model.encoder.stems()[0].stride == (1, stem_stride)
    assert model(torch.randn(2, 3, length)).reconstruction.shape == (2, 3, length)


def test_stem_stride_must_be_positive() -> None:
    with pytest.raises(ParamsError, match="stem_stride"):
        load_params(None, ["model.stem_stride=0"])


@pytest.mark.parametrize("decoder_stages", [[1, 1, 1], [0, 1, 0]])
def test_decoder_stages_set_the_decoder_depth_alone(decoder_stages: list[int]) -> None:
    mirrored = build_model(tiny(stages=[2, 2, 2]), MODALITIES, 97)
    shallow = build_model(tiny(stages=[2, 2, 2], decoder_stages=decoder_stages), MODALITIES, 97)
    assert [len(stage) for stage in shallow.decoder.branches[0].stages] == decoder_stages[::-1]
    assert parameter_counts(shallow)["encoders"] == parameter_counts(mirrored)["encoders"]
    assert shallow(torch.randn(2, 3, 97)).reconstruction.shape == (2, 3, 97)


def test_decoder_stages_need_one_count_per_encoder_stage() -> None:
    with pytest.raises(ValueError, match="decoder_stages"):
        tiny(stages=[2, 2, 2], decoder_stages=[1, 1])


def test_each_latent_step_decodes_into_its_own_stretch_of_the_shared_map() -> None:
    to_map = LatentToMap(steps=4, dim=8, channels=5, length=32)
    latent = torch.randn(2, 32)
    changed = latent.clone()
    changed[:, 8:16] += 1.0  # step 1 of 4
    with torch.no_grad():
        diff = (to_map(changed) - to_map(latent)).abs().sum(dim=(0, 1))
    assert diff.shape == (32,)
    assert (diff[:8] == 0).all() and (diff[16:] == 0).all() and diff[8:16].sum() > 0


def test_latent_map_reaches_any_length() -> None:
    assert LatentToMap(steps=4, dim=8, channels=5, length=30)(torch.randn(3, 32)).shape == (3, 5, 30)
    assert LatentToMap(steps=1, dim=32, channels=5, length=7)(torch.randn(3, 32)).shape == (3, 5, 7)


def test_latent_noise_reaches_the_decoder_only_and_scales_with_its_width() -> None:
    torch.manual_seed(0)
    model = build_model(tiny(), MODALITIES, 240).eval()
    x = torch.randn(16, len(MODALITIES), 240)
    clean = model(x)
    changes = []
    for width in (0.05, 0.5):
        noisy = model(x, latent_noise=width)
        assert torch.equal(noisy.latent, clean.latent)
        changes.append((noisy.reconstruction - clean.reconstruction).abs().mean().item())
    assert 0 < changes[0] < changes[1]
    assert torch.equal(model(x[:1], latent_noise=0.5).reconstruction, model(x[:1]).reconstruction)
