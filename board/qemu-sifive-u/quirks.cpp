// SiFive FU540 (HiFive Unleashed; QEMU's sifive_u machine) board hooks.
//
// The FU540's U54 harts are among the cores SiFive erratum CIP-1200 names
// (board/sifive/errata.h); the rule decides from marchid/mimpid, so QEMU,
// which models no erratum, reports ids the rule leaves alone. Hart 0 (E51,
// no MMU) is excluded by its missing mmu-type, and its devices are
// DMA-coherent, so there are no cache hooks.
#include "board/board.h"
#include "board/sifive/tlb_errata.h"

namespace k {
namespace {

// Root compatibles: QEMU's sifive_u and the HiFive Unleashed board
// (Linux Documentation/devicetree/bindings/riscv/sifive.yaml).
constexpr const char* kCompatible[] = {"sifive,hifive-unleashed-a00", "sifive,fu540-c000",
                                       "sifive,fu540", nullptr};

void fu540_early_quirks(const fdt::Fdt&) { sifive::apply_tlb_errata("fu540"); }

}  // namespace

DECLARE_BOARD(fu540, .name = "SiFive FU540", .compatible = kCompatible,
              .early_quirks = fu540_early_quirks);

}  // namespace k
