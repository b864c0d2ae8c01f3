/**
 * The condor_nb panel plugin: a left side panel "HTCondor jobs", and a command (palette,
 * launcher) that opens the same view in the main area. One PanelModel per browser tab
 * serves every view, so the tab polls the server once per refresh however many are open.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';

import { PanelModel } from './model';
import { condorNbIcon, PanelView } from './view';

export const OPEN_COMMAND = 'condor-nb:open-panel';

export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'condor-nb-jupyterlab:panel',
  description: 'The condor_nb panel: notebook jobs, sweeps and schedules on HTCondor, live',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ) => {
    const model = new PanelModel();
    const ctx = { model, commands: app.commands };

    const side = new PanelView(ctx, 'side');
    side.id = 'condor-nb-panel';
    side.title.icon = condorNbIcon;
    side.title.caption = 'HTCondor jobs';
    app.shell.add(side, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(side, 'condor-nb-panel');
    }

    const tracker = new WidgetTracker<MainAreaWidget<PanelView>>({ namespace: 'condor-nb-main' });
    app.commands.addCommand(OPEN_COMMAND, {
      label: 'HTCondor jobs',
      caption: 'Open the condor_nb panel (jobs, sweeps, schedules) in the main area',
      icon: args => (args.isPalette ? undefined : condorNbIcon),
      execute: () => {
        const open = tracker.currentWidget;
        if (open && !open.isDisposed) {
          app.shell.activateById(open.id);
          return open;
        }
        const widget = new MainAreaWidget({ content: new PanelView(ctx, 'main') });
        widget.id = `condor-nb-main-${Date.now()}`;
        widget.title.label = 'HTCondor jobs';
        widget.title.icon = condorNbIcon;
        widget.title.closable = true;
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    if (restorer) {
      void restorer.restore(tracker, { command: OPEN_COMMAND, name: () => 'condor-nb-main' });
    }
    if (palette) {
      palette.addItem({ command: OPEN_COMMAND, category: 'HTCondor' });
    }
    if (launcher) {
      launcher.add({ command: OPEN_COMMAND, category: 'Other', rank: 50 });
    }
  }
};
