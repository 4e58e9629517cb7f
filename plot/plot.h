#pragma once
// The course's plots as PNG files, drawn by kiln (no Python, no matplotlib): loss curves,
// 1D predictions, 2D decision regions, heatmaps and montages of images (a CNN's filters). Each
// function writes one image, returns the Frame that maps data values to its pixels, and throws
// kiln::ShapeError for inputs that do not fit together and kiln::Error naming the path when the
// file cannot be written.

#include "io/dataset.h"
#include "plot/axes.h"

#include <Eigen/Core>

#include <string>
#include <vector>

namespace kiln::plot {

/** One curve: y against x, drawn in legend order with the Tableau 10 colours. */
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

/**
 * Training curves (e.g. training and validation loss per epoch), 800 × 560 pixels: one line per
 * series in tableau10(0), tableau10(1), …, with markers when a series has at most 40 points, a
 * legend in the emptiest corner, "epoch" and "loss" as axis labels. With log_y the y axis is
 * logarithmic; values that are not positive (and NaN or Inf anywhere) break the line instead
 * of being drawn. Throws kiln::ShapeError when there is no series, x and y of a series differ in
 * length, or no point is drawable.
 */
Frame loss_curves(const std::string& path, const std::string& title,
                  const std::vector<Series>& series, bool log_y);

/**
 * A 1D regression at a glance, 800 × 560 pixels: the data as translucent dots, the true function
 * (`truth_y` over `grid_x`, dashed; pass an empty vector to leave it out) and the network's
 * prediction (`prediction_y` over `grid_x`, solid). Throws kiln::ShapeError when paired vectors
 * differ in length or there is nothing to draw.
 */
Frame prediction_1d(const std::string& path, const std::string& title,
                    const Eigen::VectorXd& data_x, const Eigen::VectorXd& data_y,
                    const Eigen::VectorXd& grid_x, const Eigen::VectorXd& truth_y,
                    const Eigen::VectorXd& prediction_y);

/**
 * What a 2D classifier decides, 760 × 640 pixels (less tall for a flat box, whose data area keeps
 * equal scales on both axes within a factor 2.5): `class_grid(i, j)` is the class predicted at the
 * centre of cell (i, j) of a regular grid over `box`, row 0 at the top (largest x₂) and column 0
 * at the left (smallest x₁). Regions are drawn in light class colours (tableau10(k) mixed with
 * white, smoothed at the boundaries), the points ([n, 2]) as dots in the full class colour with
 * a dark rim, and a legend names the classes. Throws kiln::ShapeError when the grid is empty,
 * points do not have 2 columns, labels do not match the points, num_classes < 1, or a class in
 * the grid or the labels is outside [0, num_classes).
 */
Frame decision_regions(const std::string& path, const std::string& title, const data::Box& box,
                       const Eigen::MatrixXi& class_grid, const MatrixRM& points,
                       const Eigen::VectorXi& labels, int num_classes);

/**
 * A matrix of values as coloured cells (viridis: the smallest value dark purple, the largest
 * yellow), each annotated with its value when the cell has room, with a colour bar — e.g. final
 * loss over network width (columns) and depth (rows). Row 0 is at the top. In the returned frame
 * cell (i, j) spans x ∈ [j, j+1] and y ∈ [i, i+1]. With log_colour the colours follow log10 of
 * the values. NaN cells are grey. Throws kiln::ShapeError when `values` is empty, a label list is
 * neither empty nor one per row/column, or log_colour is set and a value is not positive.
 */
Frame heatmap(const std::string& path, const std::string& title, const Eigen::MatrixXd& values,
              const std::vector<std::string>& row_labels,
              const std::vector<std::string>& column_labels, const std::string& x_label,
              const std::string& y_label, bool log_colour);

/** One panel of a montage: images of one size, `columns` to a row (0: about a square grid). */
struct MontagePanel {
  std::string title;
  std::vector<Eigen::MatrixXd> images;
  int columns = 0;
};

/** Where a montage drew a panel: image k's pixel (i, j) is the square of `scale` pixels at
    (x + (k % columns)(image cols · scale + 1) + j · scale, y + (k / columns)(...) + i · scale). */
struct MontageGrid {
  int x = 0, y = 0, scale = 1, columns = 1;
};

/**
 * Panels of small images side by side, as the course's montage_array draws a layer's filters or
 * feature maps: each panel's images tiled row by row in a grid with one-pixel black gaps (empty
 * cells black), every image pixel a square of screen pixels (as large as fits ~360 pixels), in
 * viridis between the panel's smallest and largest value, with a colour bar and the panel's
 * title. Returns each panel's grid. Throws kiln::ShapeError when there is no panel, a panel has
 * no images, a panel's images differ in size, or a value is not finite.
 */
std::vector<MontageGrid> montage(const std::string& path, const std::string& title,
                                 const std::vector<MontagePanel>& panels);

} // namespace kiln::plot
