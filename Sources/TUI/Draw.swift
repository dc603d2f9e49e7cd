import Core
import Foundation

extension App {
    /// Composes one whole frame into `g`. Cheap except the preview, which is cached.
    func render(into g: inout CellGrid) {
        drainMailbox()
        graphicsTarget = nil
        let st = styles
        screenSize = (g.width, g.height)
        let layout = self.layout(width: g.width, height: g.height)
        g.fill(g.bounds, " ", st.base)
        if layout.kind == .tooSmall {
            OverlayWidget.drawTooSmall(&g, layout, st: st)
            return
        }
        let progress = engine.latestProgress()
        rate.observe(iteration: progress.iteration, elapsed: progress.elapsed, width: progress.width)
        drawPreview(&g, layout.preview, progress: progress)
        if let c = layout.chart { ChartWidget.draw(&g, c, history: engine.lossHistory(), st: st) }
        SlidersWidget.draw(&g, layout.sliders, settings: settings, kinds: sliderKinds, labels: sliderLabels,
                           selected: selected, editor: editor, st: st)
        let (msg, isErr) = statusMessage(progress: progress)
        StatusWidget.draw(&g, layout.status, progress: progress, settings: settings, rate: rate.secondsPerIteration,
                          memory: engine.memoryBytes, message: msg, messageIsError: isErr,
                          compact: layout.kind == .compact, st: st)
        if let h = layout.hint {
            StatusWidget.drawHint(&g, h, space: StatusWidget.spaceLabel(state: progress.state, paused: engine.isPaused), st: st)
        }
        if showHelp {
            let drawn = OverlayWidget.drawBox(&g, title: "keys", lines: helpLines(), footer: "any key closes",
                                              scroll: helpScroll, st: st)
            helpScrollMax = drawn.maxScroll
            helpScroll = min(helpScroll, drawn.maxScroll)
        } else if confirmRestart {
            OverlayWidget.drawBox(&g, title: "restart", lines: [("", "Restart from the init image?"),
                                                                ("", "The loss history is kept.")],
                                  footer: "y = restart   any other key = no", st: st)
        }
    }

    /// The preview pane's title after its view tabs: "result 256×256", "content", "style".
    func previewTitle(progress: EngineProgress) -> String {
        let sizeNote = progress.width > 0 ? " \(progress.width)×\(progress.height)" : ""
        switch source {
        case .result: return "result\(sizeNote)" + (settings.colors == .style ? "" : " · colors \(settings.colors.rawValue)")
        case .style where settings.styleBlend.count > 1:
            let names = config.styleStem.split(separator: "+")
            let name = names.count == settings.styleBlend.count ? " " + names[min(styleIndex, names.count - 1)] : ""
            return "style \(styleIndex + 1)/\(settings.styleBlend.count)\(name)"
        default: return source.title
        }
    }

    func drawPreview(_ g: inout CellGrid, _ rect: Rect, progress: EngineProgress) {
        let st = styles
        graphicsTarget = nil
        let covered = showHelp || confirmRestart
        let title = previewTitle(progress: progress)
        g.box(rect, title: PreviewTabs.prefix + title, border: st.border, titleStyle: st.title)
        // The view shown is the highlighted tab; the tabs are also clickable (Mouse.swift).
        if let x = PreviewTabs.firstColumn(rect: rect) {
            g.put(x + 2 * source.rawValue, rect.y, "\(source.rawValue + 1)", st.accent)
        }
        let r = rect.inner
        guard r.w > 0, r.h > 0 else { return }
        if graphicsOn && graphicsProtocol != nil && !covered && placeGraphics(r, progress: progress) { return }

        // Decide what to show without copying the image unless it will be rendered.
        let keyGeneration = viewGeneration(progress)
        let old = preview.key
        let sameView = old?.source == source && old?.mode == colorMode
        let cachedFit = preview.imageSize.map {
            PreviewRenderer.fit(imageW: $0.w, imageH: $0.h, maxCols: r.w, maxRows: r.h, cellW: cellPixel.w, cellH: cellPixel.h)
        }
        let sameSize = cachedFit.map { $0.cols == old?.cols && $0.rows == old?.rows } ?? false
        let upToDate = sameView && sameSize && old?.generation == keyGeneration
        // A new result image waits for the fps budget; a new pane size or view renders at once.
        let throttled = sameView && sameSize && source == .result && !previewDue()
        if !upToDate && !throttled {
            let img: RGBImage
            switch source {
            case .result: img = engine.currentImage().image
            case .content: img = engine.contentImage
            case .style: img = shownStyle() ?? engine.contentImage
            }
            if img.width > 0 && img.height > 0 {
                let fit = PreviewRenderer.fit(imageW: img.width, imageH: img.height, maxCols: r.w, maxRows: r.h,
                                              cellW: cellPixel.w, cellH: cellPixel.h)
                let key = PreviewRenderer.Key(source: source, generation: keyGeneration, cols: fit.cols, rows: fit.rows, mode: colorMode)
                if preview.render(img, key: key), source == .result { previewRendered() }
            }
        }
        guard let k = preview.key, k.source == source, preview.cols <= r.w, preview.rows <= r.h, !preview.cells.isEmpty else {
            let wait = "waiting for the first image…"
            g.put(r.x + max(0, (r.w - wait.count) / 2), r.y + r.h / 2, wait, st.dim, limit: r.w)
            return
        }
        let ox = r.x + (r.w - preview.cols) / 2, oy = r.y + (r.h - preview.rows) / 2
        for y in 0..<preview.rows {
            for x in 0..<preview.cols {
                let c = preview.cells[y * preview.cols + x]
                g.set(ox + x, oy + y, c.ch, Style(fg: c.fg, bg: c.bg))
            }
        }
    }

    /// The style image the style view shows (`v` steps through several).
    func shownStyle() -> RGBImage? {
        let styles = engine.styleImages
        return styles.isEmpty ? nil : styles[min(styleIndex, styles.count - 1)]
    }

    /// What identifies the picture in view without copying it: the result's image generation; content and
    /// style change only when the working size does (upscale) and a style's also with the style scale, so
    /// their sizes and the style's index are theirs.
    func viewGeneration(_ progress: EngineProgress) -> Int {
        guard source != .result else { return progress.imageGeneration }
        let styleWidth = source == .style ? shownStyle()?.width ?? 0 : 0
        return -(source.rawValue + 8 * styleIndex + 64 * progress.width + 65536 * styleWidth)
    }

    /// In graphics the pane's cells stay blank and the image is placed on them after the frame
    /// (GraphicsPresenter); here only where it goes. False while there is no picture yet.
    func placeGraphics(_ r: Rect, progress: EngineProgress) -> Bool {
        let size: (w: Int, h: Int)
        switch source {
        case .result: size = (progress.width, progress.height)
        case .content: size = (engine.contentImage.width, engine.contentImage.height)
        case .style:
            guard let style = shownStyle() else { return false }
            size = (style.width, style.height)
        }
        guard size.w > 0, size.h > 0 else { return false }
        let fit = PreviewRenderer.fit(imageW: size.w, imageH: size.h, maxCols: r.w, maxRows: r.h,
                                      cellW: cellPixel.w, cellH: cellPixel.h)
        let generation = viewGeneration(progress)
        graphicsTarget = GraphicsTarget(source: source, generation: generation, x: r.x + (r.w - fit.cols) / 2,
                                        y: r.y + (r.h - fit.rows) / 2, cols: fit.cols, rows: fit.rows)
        return true
    }

    /// The picture the graphics target names, copied only when it is about to be sent.
    func graphicsImage() -> RGBImage? {
        switch graphicsTarget?.source {
        case .result?: return engine.currentImage().image
        case .content?: return engine.contentImage
        case .style?: return shownStyle()
        case nil: return nil
        }
    }
}
