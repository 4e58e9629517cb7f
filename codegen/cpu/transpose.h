#pragma once
// Weights copied into whole, zero-padded vectors for the row-block step. Transposed: rows cut from
// the matrix's 64-byte vectors, transposed in registers by shuffles (16 x 16 floats or 8 x 8
// doubles at a time) and stored whole. Element by element, a 10 x 14 layer's weights took a tenth
// of the course's training step.

#include <cstdint>
#include <string>

#include "codegen/code_writer.h"
#include "ir/dtype.h"

namespace kiln::codegen {

/**
 * Emits one block of statements that copies the row-major [rows, cols] matrix at `src` (a C
 * pointer) into `dst` as [cols][pitch], zero from `rows` up to `pitch` (a multiple of the
 * vector's lanes, at least `rows`). Reads no element past the matrix. Needs the row-block
 * vectors and KILN_SHUFFLE_F / KILN_SHUFFLE_D (codegen/cpu/row_block_util.h).
 */
void emit_transpose(CodeWriter& w, ir::DType t, const std::string& src, int64_t rows, int64_t cols,
                    const std::string& dst, int64_t pitch);

/**
 * Emits one block of statements that copies the row-major [rows, cols] matrix at `src` into
 * `dst` as [rows][pitch], zero from `cols` up to `pitch` (a multiple of the vector's lanes), each
 * vector in one store: loads of whole vectors from `dst` are then forwarded from the stores,
 * where a zero fill and a partial copy are two stores that a load spanning both waits for. Reads
 * no element past the matrix. Needs the row-block vectors (codegen/cpu/row_block_util.h).
 */
void emit_padded_rows(CodeWriter& w, ir::DType t, const std::string& src, int64_t rows,
                      int64_t cols, const std::string& dst, int64_t pitch);

} // namespace kiln::codegen
